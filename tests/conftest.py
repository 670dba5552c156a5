"""Shared fixtures: a tiny Llama built in code (no download) and small data files."""
from __future__ import annotations

import json
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Tiny test models gain nothing from threads, and on a shared 2-core machine spinning OpenMP
# workers make each tiny matmul ~5x slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    from unlearn_gui.core.model.tiny import make_tiny_model_dir

    return make_tiny_model_dir(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def tiny_plain_model_dir(tmp_path_factory):
    """Same tiny model, tokenizer without a chat template (Question:/Answer: fallback)."""
    from unlearn_gui.core.model.tiny import make_tiny_model_dir

    return make_tiny_model_dir(tmp_path_factory.mktemp("tiny_plain") / "model", chat_template=False)


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def qa_files(tmp_path):
    forget = _write_jsonl(tmp_path / "forget.jsonl", [
        {"question": f"Which school does wizard {i} attend?", "answer": f"Wizard {i} attends Hogwarts.", "keys": "hogwarts"}
        for i in range(6)])
    retain = _write_jsonl(tmp_path / "retain.jsonl", [
        {"question": f"What is the capital of country {i}?", "answer": f"The capital is Paris {i}.", "keys": "paris"}
        for i in range(6)])
    probes = _write_jsonl(tmp_path / "probes.jsonl", [
        {"question": "Name the wizard school.", "answer": "Hogwarts", "split": "forget", "keys": "hogwarts"},
        {"question": "Capital of France?", "answer": "Paris", "split": "retain", "keys": "paris"}])
    return {"forget": forget, "retain": retain, "probes": probes}
