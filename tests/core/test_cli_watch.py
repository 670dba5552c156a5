"""The headless run prints collapse alarms as warnings and takes the stop rule's flags."""
import json
import subprocess
import sys


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "unlearn_gui", *args], capture_output=True, text=True, timeout=timeout)


def test_cli_prints_alarm_and_applies_stop_rule_flags(tiny_model_dir, qa_files, tmp_path):
    out = tmp_path / "run"
    r = cli("run", "--model", str(tiny_model_dir), "--forget", str(qa_files["forget"]), "--retain",
            str(qa_files["retain"]), "--method", "ga", "--full", "--lr", "0.05", "--steps", "4", "--device", "cpu",
            "--no-scorecard", "--quiet", "--out", str(out), "--stop-forget-below", "1e-9",
            "--stop-retain-above", "0.5")
    assert r.returncode == 0, r.stderr
    assert "warning: ALARM (retain_drop, step 4)" in r.stderr  # printed even with --quiet
    assert "stop rule (forget Prob < 1e-09 and retain Prob > 0.5) never met" in r.stderr
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["stop_forget_below"] == 1e-9 and cfg["stop_retain_above"] == 0.5
    s = json.loads((out / "summary.json").read_text())
    assert "retain_drop" in [a["kind"] for a in s["alarms"]] and s["stop_rule"]["met_at"] is None
    assert (out / "alarms.jsonl").is_file()


def test_cli_bad_stop_rule_is_a_one_line_error(tiny_model_dir, qa_files, tmp_path):
    r = cli("run", "--model", str(tiny_model_dir), "--forget", str(qa_files["forget"]), "--out", str(tmp_path / "o"),
            "--stop-retain-above", "0.5")
    assert r.returncode != 0
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and "stop_retain_above" in last and "Traceback" not in r.stderr
