"""Model loading: clear one-line errors for missing, corrupt or unsafe models; offline; no network."""
import pickle
import shutil
import socket

import pytest

from unlearn_gui.core import config as C
from unlearn_gui.core.train import engine
from unlearn_gui.core.model import models


def one_line(e):
    return "\n" not in str(e) and len(str(e)) < 400


def test_missing_model_folder(tmp_path):
    with pytest.raises(models.ModelError) as e:
        models.resolve_model_dir(str(tmp_path / "nope"))
    assert "not found" in str(e.value) and one_line(e.value)


def test_folder_without_weights(tiny_model_dir, tmp_path):
    d = tmp_path / "m"
    shutil.copytree(tiny_model_dir, d)
    (d / "model.safetensors").unlink()
    with pytest.raises(models.ModelError) as e:
        models.resolve_model_dir(str(d))
    assert "no weights" in str(e.value) and one_line(e.value)


def test_folder_without_config(tiny_model_dir, tmp_path):
    d = tmp_path / "m"
    shutil.copytree(tiny_model_dir, d)
    (d / "config.json").unlink()
    with pytest.raises(models.ModelError) as e:
        models.resolve_model_dir(str(d))
    assert "config.json" in str(e.value)


def test_corrupt_safetensors(tiny_model_dir, tmp_path):
    d = tmp_path / "m"
    shutil.copytree(tiny_model_dir, d)
    data = (d / "model.safetensors").read_bytes()
    (d / "model.safetensors").write_bytes(data[: len(data) // 3])
    with pytest.raises(models.ModelError) as e:
        models.load_model(models.resolve_model_dir(str(d)))
    assert str(e.value).startswith("cannot load model") and one_line(e.value)


@pytest.mark.parametrize("content", [b"", b"GGUF\x03\x00\x00\x00" + b"\x00" * 20, b"not a gguf at all"])
def test_truncated_or_fake_gguf(tmp_path, monkeypatch, content):
    monkeypatch.setenv("UNLEARN_GUI_CACHE", str(tmp_path / "cache"))
    f = tmp_path / "m.gguf"
    f.write_bytes(content)
    with pytest.raises(models.ModelError) as e:
        models.resolve_model_dir(str(f))
    assert "m.gguf" in str(e.value) and one_line(e.value)
    assert not list((tmp_path / "cache").rglob("*.safetensors"))  # no half-written cache


class Evil:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_pickled_weights_are_not_executed(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    d = tmp_path / "m"
    shutil.copytree(tiny_model_dir, d)
    (d / "model.safetensors").unlink()
    (d / "pytorch_model.bin").write_bytes(pickle.dumps({"x": Evil()}))
    with pytest.raises(models.ModelError):
        models.load_model(models.resolve_model_dir(str(d)))
    assert not (tmp_path / "PWNED").exists()  # torch.load(weights_only=True) refused the payload


def test_describe_reads_config_only(tiny_model_dir):
    info = models.describe(tiny_model_dir)
    assert info.n_params == sum(p.numel() for p in models.load_model(tiny_model_dir).parameters())
    assert info.has_chat_template and info.architecture == "LlamaForCausalLM"
    lora = models.estimate_memory_bytes(info, lora=True, needs_ref=True, batch_size=4, seq_len=64)
    full = models.estimate_memory_bytes(info, lora=False, needs_ref=True, batch_size=4, seq_len=64)
    assert 0 < lora < full


def test_engine_without_chat_template_uses_fallback(tiny_plain_model_dir, qa_files):
    ev = []
    cfg = C.RunConfig(model=C.ModelConfig(path=str(tiny_plain_model_dir)),
                      data=C.DataConfig(forget=str(qa_files["forget"])), method=C.MethodConfig(steps=1),
                      max_new_tokens=2)
    res = engine.run(cfg, ev.append)
    assert res.status == "completed"
    assert any("no chat template" in getattr(e, "message", "") for e in ev)


def test_no_network_during_a_run(tiny_model_dir, qa_files, monkeypatch):
    opened = []
    real_connect = socket.socket.connect

    def guard(self, address):
        host = address[0] if isinstance(address, tuple) else str(address)
        if host not in ("127.0.0.1", "::1", "localhost") and not str(host).startswith("/"):
            opened.append(address)
            raise OSError("network access is forbidden during a run")
        return real_connect(self, address)
    monkeypatch.setattr(socket.socket, "connect", guard)
    cfg = C.RunConfig(model=C.ModelConfig(path=str(tiny_model_dir)),
                      data=C.DataConfig(forget=str(qa_files["forget"]), retain=str(qa_files["retain"])),
                      method=C.MethodConfig(steps=2), max_new_tokens=2)
    res = engine.run(cfg, lambda e: None)
    assert res.status == "completed" and opened == []


def test_trust_remote_code_enabled_warns(tiny_model_dir, qa_files):
    ev = []
    cfg = C.RunConfig(model=C.ModelConfig(path=str(tiny_model_dir), trust_remote_code=True),
                      data=C.DataConfig(forget=str(qa_files["forget"])), method=C.MethodConfig(steps=1),
                      max_new_tokens=2)
    engine.run(cfg, ev.append)
    assert any(getattr(e, "level", "") == "warning" and "trust_remote_code" in e.message for e in ev)


def test_full_disk_during_model_save_keeps_previous_save(tiny_model_dir, qa_files, tmp_path, monkeypatch):
    import errno
    import os

    cfg = C.RunConfig(model=C.ModelConfig(path=str(tiny_model_dir)), data=C.DataConfig(forget=str(qa_files["forget"])),
                      method=C.MethodConfig(steps=1), max_new_tokens=2)
    res = engine.run(cfg, lambda e: None)
    target = tmp_path / "saves" / "saved"
    res.save_model(target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    real_replace = os.replace

    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OSError):
        res.save_model(target)
    monkeypatch.setattr(os, "replace", real_replace)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert [p.name for p in (tmp_path / "saves").iterdir()] == ["saved"]  # no temp folder left behind


def test_prefetched_tokenizer_goes_to_one_taker_and_never_stale(tiny_model_dir, tmp_path):
    """The GUI parses the tokenizer ahead of a run (core.model.models.prefetch_tokenizer); the next load
    takes that object, the one after loads a fresh one, and an edited tokenizer is not served."""
    import os
    import shutil

    from unlearn_gui.core.model import models

    d = tmp_path / "m"
    shutil.copytree(tiny_model_dir, d)
    pre = models.prefetch_tokenizer(d)
    assert models.load_tokenizer(d) is pre
    again = models.load_tokenizer(d)
    assert again is not pre and again.pad_token is not None and again.encode("hello") == pre.encode("hello")
    pre2 = models.prefetch_tokenizer(d)
    cfg = d / "tokenizer_config.json"
    st = cfg.stat()
    os.utime(cfg, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the tokenizer changed on disk
    assert models.load_tokenizer(d) is not pre2
