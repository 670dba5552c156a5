"""The headless command is a contract: flags, run folder layout, one-line errors, exit codes."""
import json
import subprocess
import sys

import pytest


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "unlearn_gui", *args], capture_output=True, text=True, timeout=timeout)


def test_cli_end_to_end_on_tiny_model(tiny_model_dir, qa_files, tmp_path):
    out = tmp_path / "run"
    r = cli("run", "--model", str(tiny_model_dir), "--forget", str(qa_files["forget"]), "--retain",
            str(qa_files["retain"]), "--probes", str(qa_files["probes"]), "--method", "npo", "--out", str(out),
            "--steps", "3", "--lr", "0.001", "--seed", "3", "--device", "cpu")
    assert r.returncode == 0, r.stderr
    assert "3/3" in r.stderr and "ETA" in r.stderr
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["method"]["name"] == "npo" and cfg["method"]["steps"] == 3 and cfg["seed"] == 3
    assert cfg["method"]["beta"] == 0.1  # unspecified values resolved from the preset
    rows = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [0, 1, 2, 3]  # step 0: the live probe before training
    assert "forget_logprob" in rows[0] and "loss" not in rows[0]
    s = json.loads((out / "summary.json").read_text())
    assert s["status"] == "completed" and s["method"] == "npo" and s["steps"] == 3 and s["wall_s"] > 0
    assert {"forget_logprob", "retain_logprob"} <= set(s["metrics"]["before"]) & set(s["metrics"]["after"])
    by_split = {g["split"] for g in s["generations"]}
    assert {"forget", "retain"} <= by_split and len(s["generations"]) == 6 + 6 + 2
    assert s["generations"][0]["prompt"] == "Which school does wizard 0 attend?"

    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert PeftModel.from_pretrained(base, out / "adapter") is not None


def test_cli_full_finetuning_saves_loadable_model(tiny_model_dir, qa_files, tmp_path):
    out = tmp_path / "run"
    r = cli("run", "--model", str(tiny_model_dir), "--forget", str(qa_files["forget"]), "--method", "ga",
            "--out", str(out), "--steps", "1", "--full", "--quiet")
    assert r.returncode == 0, r.stderr
    from transformers import AutoModelForCausalLM

    assert AutoModelForCausalLM.from_pretrained(out / "model") is not None


def test_cli_bad_data_file_is_one_line_error(tiny_model_dir, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "answer": "a"}\n{"question": oops}\n', encoding="utf-8")
    before = bad.read_bytes()
    r = cli("run", "--model", str(tiny_model_dir), "--forget", str(bad), "--out", str(tmp_path / "o"), "--steps", "1")
    assert r.returncode == 1
    err = r.stderr.strip().splitlines()[-1]
    assert err.startswith("error:") and "bad.jsonl" in err and "line 2" in err
    assert "Traceback" not in r.stderr
    assert bad.read_bytes() == before


@pytest.mark.parametrize("model", ["missing-folder", "corrupt"])
def test_cli_bad_model_is_one_line_error(model, qa_files, tmp_path):
    if model == "corrupt":
        d = tmp_path / "corrupt"
        d.mkdir()
        (d / "config.json").write_text('{"model_type": "llama"}')
        (d / "model.safetensors").write_bytes(b"\x00garbage" * 10)
        model = str(d)
    r = cli("run", "--model", model, "--forget", str(qa_files["forget"]), "--out", str(tmp_path / "o"), "--steps", "1")
    assert r.returncode != 0
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and "Traceback" not in r.stderr


def test_cli_rejects_unknown_config_keys(tmp_path, qa_files):
    cfgf = tmp_path / "c.json"
    cfgf.write_text(json.dumps({"method": {"name": "npo", "betta": 1}}))
    r = cli("run", "--config", str(cfgf), "--forget", str(qa_files["forget"]), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "method.betta" in r.stderr


def test_help_lists_contract_flags():
    r = cli("run", "--help")
    for flag in ("--model", "--forget", "--retain", "--probes", "--method", "--out", "--steps", "--lr", "--lora",
                 "--full", "--seed", "--device", "--config"):
        assert flag in r.stdout


def test_report_command_writes_self_contained_html(tiny_model_dir, qa_files, tmp_path):
    out = tmp_path / "run"
    r = cli("run", "--model", str(tiny_model_dir), "--forget", str(qa_files["forget"]), "--retain",
            str(qa_files["retain"]), "--out", str(out), "--steps", "2", "--quiet")
    assert r.returncode == 0, r.stderr
    assert (out / "scorecard.json").is_file() and (out / "report.html").is_file()
    (out / "report.html").unlink()
    r = cli("report", str(out))
    assert r.returncode == 0 and r.stdout.strip().endswith("report.html")
    html = (out / "report.html").read_text()
    assert "<script src" not in html and "http://" not in html and "https://" not in html
    bad = cli("report", str(tmp_path))
    assert bad.returncode == 1 and "not a run folder" in bad.stderr


def test_probe_flags_set_how_often_the_live_probe_runs(tiny_model_dir, qa_files, tmp_path):
    def probed_steps(*flags):
        out = tmp_path / f"run{len(flags)}"
        r = cli("run", "--model", str(tiny_model_dir), "--forget", str(qa_files["forget"]), "--retain",
                str(qa_files["retain"]), "--out", str(out), "--steps", "4", "--no-scorecard", "--quiet", *flags)
        assert r.returncode == 0, r.stderr
        rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
        cfg = json.loads((out / "config.json").read_text())
        return [row["step"] for row in rows if "forget_logprob" in row and row["step"] > 0], cfg

    steps, cfg = probed_steps("--probe-every", "1", "--probe-budget", "0")
    assert steps == [1, 2, 3, 4] and cfg["probe_every"] == 1 and cfg["probe_budget"] == 0
    steps, cfg = probed_steps("--probe-every", "0")
    assert steps == [] and cfg["probe_every"] == 0  # only the step-0 probe (no logged step) remains
