"""Robustness cases not covered next to their modules: truncated GGUF, model folders missing files,
cancel inside generation, a disk that fills while a model or folder is written, and the safety
defaults (trust_remote_code off, weights_only loads). The full map of issue 7's list to tests is
in docs/robustness.md."""
from __future__ import annotations

import ast
import errno
import os
import shutil
from pathlib import Path

import pytest
import torch

from unlearn_gui.core import config as C
from unlearn_gui.core.train import engine
from unlearn_gui.core.model import generate, models
from unlearn_gui.core.common import events as E
from unlearn_gui.core.common.cancel import Cancelled, CancelToken
from unlearn_gui.core.common.storage import staged_folder

PACKAGE = Path(__file__).resolve().parents[2] / "unlearn_gui"


def one_line(e) -> bool:
    return "\n" not in str(e) and len(str(e)) < 500


def _tree(path: Path) -> dict:
    """Every file under ``path`` (relative name -> bytes): "whole" means byte-identical."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- models

@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory) -> Path:
    """A valid little GGUF (llama metadata, a vocabulary, two tensors) written with gguf's writer."""
    import numpy as np
    from gguf import GGUFWriter

    path = tmp_path_factory.mktemp("gguf") / "tiny.gguf"
    w = GGUFWriter(str(path), "llama")
    w.add_block_count(1)
    w.add_context_length(64)
    w.add_embedding_length(8)
    w.add_feed_forward_length(16)
    w.add_head_count(2)
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"t{i}" for i in range(32)])
    w.add_tensor("token_embd.weight", np.ones((32, 8), dtype=np.float32))
    w.add_tensor("output_norm.weight", np.ones((8,), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])  # cut in the metadata, the tensor table, the tensor data
def test_truncated_gguf_is_named_and_leaves_no_cache(tiny_gguf, tmp_path, monkeypatch, keep):
    monkeypatch.setenv("UNLEARN_GUI_CACHE", str(tmp_path / "cache"))
    data = tiny_gguf.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(models.ModelError) as e:
        models.resolve_model_dir(str(cut))
    assert "cut.gguf is truncated or corrupt" in str(e.value) and one_line(e.value)
    cache = tmp_path / "cache"
    assert not cache.exists() or not [p for p in cache.rglob("*") if p.is_file()]  # no half-written cache


def test_model_folder_without_tokenizer_files(tiny_model_dir, tmp_path):
    d = tmp_path / "m"
    shutil.copytree(tiny_model_dir, d)
    for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (d / f).unlink(missing_ok=True)
    with pytest.raises(models.ModelError) as e:
        models.resolve_model_dir(str(d))
    # not transformers' advice to install protobuf, which is what loading it would say
    assert "has no tokenizer files" in str(e.value) and one_line(e.value)


def test_model_folder_with_a_missing_shard(tiny_model_dir, tmp_path):
    d = tmp_path / "m"
    shutil.copytree(tiny_model_dir, d)
    (d / "model.safetensors").unlink()
    models.load_model(tiny_model_dir).save_pretrained(d, max_shard_size="20KB", safe_serialization=True)
    shards = sorted(p.name for p in d.glob("model-*.safetensors"))
    assert len(shards) > 2
    (d / shards[1]).unlink()
    with pytest.raises(models.ModelError) as e:
        models.resolve_model_dir(str(d))
    assert f"missing weight shard(s) {shards[1]}" in str(e.value) and one_line(e.value)


# ---------------------------------------------------------------- cancel inside generation

class TripAfter(CancelToken):
    """A token that the generation loop itself trips: set on the ``n``-th poll."""

    def __init__(self, n: int):
        super().__init__()
        self.polls, self.n = 0, n

    @property
    def cancelled(self) -> bool:
        self.polls += 1
        if self.polls >= self.n:
            self.cancel()
        return super().cancelled


def test_cancel_inside_generate_stops_within_a_token(tiny_model_dir):
    model, tok = models.load_model(tiny_model_dir), models.load_tokenizer(tiny_model_dir)
    calls = []
    model.register_forward_hook(lambda *a: calls.append(1))
    prompt = tok("Which school does Harry attend?")["input_ids"]
    with pytest.raises(Cancelled):
        # no stop token can end it early: only the cancel can, after the 3rd generated token
        generate.generate(model, tok, [prompt], max_new_tokens=200, stop_ids=[10**6], cancel=TripAfter(3))
    assert len(calls) <= 4  # 200 without the cancel


def test_cancel_during_the_runs_generation(tiny_model_dir, qa_files, monkeypatch):
    """The token trips while the engine generates (inside model.generate), not between steps."""
    cancel = CancelToken()
    polls = []
    real_call = generate._CancelCriteria.__call__

    def tripping(self, input_ids, scores, **kw):
        polls.append(1)
        if len(polls) == 2:
            cancel.cancel()
        return real_call(self, input_ids, scores, **kw)
    monkeypatch.setattr(generate._CancelCriteria, "__call__", tripping)
    ev = []
    cfg = C.RunConfig(model=C.ModelConfig(path=str(tiny_model_dir)), data=C.DataConfig(forget=str(qa_files["forget"])),
                      method=C.MethodConfig(steps=3, batch_size=2, lr=1e-2), max_new_tokens=16, scorecard=False)
    res = engine.run(cfg, ev.append, cancel)
    assert res.status == "cancelled" and not res.error and len(polls) >= 2
    finished = [e for e in ev if isinstance(e, E.RunFinished)]
    assert len(finished) == 1 and finished[0].status == "cancelled"


# ---------------------------------------------------------------- full disk while saving

def _enospc(*a, **k):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture(scope="module")
def trained(tiny_model_dir, tmp_path_factory):
    qa = tmp_path_factory.mktemp("qa") / "f.jsonl"
    qa.write_text('{"question": "Which school?", "answer": "Hogwarts."}\n' * 4, encoding="utf-8")
    cfg = C.RunConfig(model=C.ModelConfig(path=str(tiny_model_dir)), data=C.DataConfig(forget=str(qa)),
                      method=C.MethodConfig(steps=1, batch_size=2), max_new_tokens=2, scorecard=False)
    return engine.run(cfg, lambda e: None)


def test_full_disk_while_writing_weights_keeps_previous_save(trained, tmp_path, monkeypatch):
    target = tmp_path / "saves" / "model"
    trained.save_model(target, merged=True)
    before = _tree(target)

    def half_then_full(self, folder, *a, **k):  # the disk fills while the tokenizer files are written
        (Path(folder) / "tokenizer.json").write_bytes(b'{"version": "1.0", "trunc')
        _enospc()
    monkeypatch.setattr(type(trained.tokenizer), "save_pretrained", half_then_full)
    with pytest.raises(OSError) as e:
        trained.save_model(target, merged=True)
    assert e.value.errno == errno.ENOSPC
    assert _tree(target) == before
    assert [p.name for p in (tmp_path / "saves").iterdir()] == ["model"]  # no staging folder left


def test_full_disk_at_the_final_swap_puts_the_previous_folder_back(tmp_path, monkeypatch):
    out = tmp_path / "run"
    with staged_folder(out) as d:
        (d / "summary.json").write_text('{"v": 1}')
    real = os.replace
    calls = []

    def second_fails(src, dst):  # moving the old folder aside works; moving the new one in does not
        calls.append((src, dst))
        if len(calls) == 2:
            _enospc()
        return real(src, dst)
    monkeypatch.setattr(os, "replace", second_fails)
    with pytest.raises(OSError):
        with staged_folder(out) as d:
            (d / "summary.json").write_text('{"v": 2}')
    monkeypatch.setattr(os, "replace", real)
    assert _tree(out) == {"summary.json": b'{"v": 1}'} and [p.name for p in tmp_path.iterdir()] == ["run"]


def test_staged_folder_error_mid_write_leaves_nothing_new(tmp_path):
    with pytest.raises(OSError):
        with staged_folder(tmp_path / "new") as d:
            (d / "config.json").write_text("{")
            _enospc()
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- safety defaults

def test_trust_remote_code_is_off_by_default(tiny_model_dir, qa_files, monkeypatch, capsys):
    """Off in the config, in the CLI (no flag turns it on) and in every load a default run makes."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from unlearn_gui.__main__ import main

    assert C.ModelConfig().trust_remote_code is False
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "--model" in (out := capsys.readouterr().out) and "trust" not in out  # only a --config file can
    seen = []
    for cls in (AutoModelForCausalLM, AutoTokenizer):
        real = cls.from_pretrained.__func__

        def record(klass, *a, _real=real, **k):
            seen.append(k.get("trust_remote_code", False))
            return _real(klass, *a, **k)
        monkeypatch.setattr(cls, "from_pretrained", classmethod(record))
    ev = []
    cfg = C.RunConfig(model=C.ModelConfig(path=str(tiny_model_dir)), data=C.DataConfig(forget=str(qa_files["forget"])),
                      method=C.MethodConfig(steps=1), max_new_tokens=2, scorecard=False)
    assert engine.run(cfg, ev.append).status == "completed"
    assert len(seen) >= 2 and not any(seen)
    assert not any("trust_remote_code" in getattr(e, "message", "") for e in ev)  # the warning is for "on" only


def test_every_torch_load_in_the_app_is_weights_only():
    """Pickles can run code: each ``torch.load`` passes ``weights_only=True``, and nothing else unpickles."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            if name.endswith("torch.load"):
                ok = any(k.arg == "weights_only" and isinstance(k.value, ast.Constant) and k.value.value is True
                         for k in node.keywords)
                if not ok:
                    offenders.append(f"{path.name}:{node.lineno}")
            if name in ("pickle.load", "pickle.loads", "dill.load", "dill.loads"):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


def test_torch_load_refuses_pickled_code_by_default(tmp_path, monkeypatch):
    """The weights_only default of the pinned torch, which transformers' .bin loading relies on."""
    monkeypatch.chdir(tmp_path)
    class Evil:
        def __reduce__(self):
            return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))
    f = tmp_path / "w.bin"
    torch.save({"x": Evil()}, f)
    with pytest.raises(Exception, match="(?i)weights.only"):
        torch.load(f)
    assert not (tmp_path / "PWNED").exists()


def test_no_name_lookup_or_connection_during_a_headless_run(tiny_model_dir, qa_files, tmp_path, monkeypatch):
    """Stricter than test_models' connect guard: on a machine without DNS a download attempt fails
    at the name lookup and never reaches connect(), so lookups of non-local names count too. The
    whole headless path: CLI, data, model, training, generation, scorecard, run folder, report."""
    import socket

    from unlearn_gui.__main__ import main

    attempts = []
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect
    local = ("localhost", "127.0.0.1", "::1", "", None)

    def lookup(host, *a, **k):
        if host not in local:
            attempts.append(("lookup", host))
            raise socket.gaierror(socket.EAI_NONAME, "network access is forbidden during a run")
        return real_getaddrinfo(host, *a, **k)

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else str(address)
        if host not in local and not str(host).startswith("/"):
            attempts.append(("connect", address))
            raise OSError("network access is forbidden during a run")
        return real_connect(self, address)
    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    monkeypatch.setattr(socket.socket, "connect", connect)
    rc = main(["run", "--model", str(tiny_model_dir), "--forget", str(qa_files["forget"]), "--retain",
               str(qa_files["retain"]), "--probes", str(qa_files["probes"]), "--method", "dipo", "--steps", "1",
               "--out", str(tmp_path / "run"), "--quiet"])
    assert rc == 0 and (tmp_path / "run" / "report.html").is_file()
    assert attempts == []
