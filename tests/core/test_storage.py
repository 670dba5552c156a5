"""Atomic saves: old file intact on failure, no temp files left, backups, crash safety, round trips."""
from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unlearn_gui.core.common import storage
from unlearn_gui.core.data.readers import read_records
from unlearn_gui.core.common.records import ROLES, Record
from unlearn_gui.core.common.storage import atomic_write_bytes, atomic_write_text, write_json
from unlearn_gui.core.data.writers import write_csv, write_jsonl

REPO = Path(__file__).resolve().parents[2]


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_write_backup_and_no_leftovers(tmp_path):
    target = tmp_path / "data.txt"
    atomic_write_text(target, "v1 ✓\n")
    assert target.read_text("utf-8") == "v1 ✓\n" and listing(tmp_path) == ["data.txt"]
    atomic_write_text(target, "v2\n")
    assert target.read_text() == "v2\n" and (tmp_path / "data.txt.bak").read_text("utf-8") == "v1 ✓\n"
    atomic_write_text(target, "v3\n", backup=False)
    assert (tmp_path / "data.txt.bak").read_text("utf-8") == "v1 ✓\n"
    atomic_write_bytes(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert listing(tmp_path) == ["b.bin", "data.txt", "data.txt.bak"]


def test_backup_is_a_separate_file_after_save(tmp_path):
    target = tmp_path / "d.jsonl"
    atomic_write_text(target, "old\n")
    atomic_write_text(target, "new\n")
    assert os.stat(target).st_ino != os.stat(tmp_path / "d.jsonl.bak").st_ino
    assert os.stat(tmp_path / "d.jsonl.bak").st_nlink == 1


def test_permissions_kept_and_symlink_written_through(tmp_path):
    target = tmp_path / "p.txt"
    target.write_text("x")
    os.chmod(target, 0o640)
    atomic_write_text(target, "y")
    assert os.stat(target).st_mode & 0o777 == 0o640
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    atomic_write_text(link, "z", backup=False)
    assert link.is_symlink() and target.read_text() == "z"


def test_write_json(tmp_path):
    write_json(tmp_path / "c.json", {"b": [1, 2], "é": "ü"})
    text = (tmp_path / "c.json").read_text("utf-8")
    assert text == '{\n  "b": [\n    1,\n    2\n  ],\n  "é": "ü"\n}\n' and listing(tmp_path) == ["c.json"]


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("what", ["replace", "fsync", "link"])
def test_disk_full_leaves_old_file_intact(tmp_path, monkeypatch, what):
    target = tmp_path / "d.jsonl"
    write_jsonl(target, [Record("q", "a")])
    old = target.read_bytes()
    if what == "link":  # the backup step: link fails, then the fallback copy fails too
        monkeypatch.setattr(storage.os, "link", _enospc)
        monkeypatch.setattr(storage.shutil, "copyfile", _enospc)
    else:
        monkeypatch.setattr(storage.os, what, _enospc)
    with pytest.raises(OSError) as info:
        write_jsonl(target, [Record("q2", "a2")] * 1000)
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == old and listing(tmp_path) == ["d.jsonl"]


def test_exception_while_streaming_records_leaves_old_file(tmp_path):
    target = tmp_path / "d.jsonl"
    write_jsonl(target, [Record("q", "a")], backup=False)
    old = target.read_bytes()

    def records():
        yield Record("new", "x")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        write_jsonl(target, records())
    assert target.read_bytes() == old and listing(tmp_path) == ["d.jsonl"]


def test_write_csv_refuses_chat_and_text_records(tmp_path):
    with pytest.raises(ValueError, match="JSONL"):
        write_csv(tmp_path / "x.csv", [Record("q", "a", context=(("system", "s"),))])
    with pytest.raises(ValueError, match="JSONL"):
        write_csv(tmp_path / "x.csv", [Record("", "doc", kind="text")])
    assert listing(tmp_path) == []


def test_jsonl_round_trip_of_chat_text_and_extra(tmp_path):
    records = [Record("q", "a", context=(("system", "s"), ("user", "u"), ("assistant", "v")), role="retain"),
               Record("", "a document", kind="text", keys=("k",)),
               Record("q", "a", extra=(("id", "7"), ("note", "n")))]
    write_jsonl(tmp_path / "d.jsonl", records)
    assert [dataclasses.replace(r, source="") for r in read_records(tmp_path / "d.jsonl")] == records


def test_csv_extra_columns_round_trip(tmp_path):
    records = [Record("q", "a", extra=(("id", "1"),)), Record("q2", "a2")]
    write_csv(tmp_path / "d.csv", records)
    assert [dataclasses.replace(r, source="") for r in read_records(tmp_path / "d.csv")] == records


# ---------------------------------------------------------------- property: write then read is identity

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
NON_BLANK = TEXT.filter(lambda s: s.strip())
KEY = TEXT.map(lambda s: s.strip().lower().replace("|", "")).filter(lambda s: s and s == s.strip().lower())
RECORD = st.builds(
    Record, prompt=NON_BLANK, answer=NON_BLANK, role=st.sampled_from(("", *ROLES)), paraphrased_answer=TEXT,
    perturbed_answers=st.lists(TEXT, max_size=3).map(tuple), keys=st.lists(KEY, max_size=3).map(tuple))
PROPERTY = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _round_trip(tmp_path: Path, writer, suffix: str, records: list[Record]) -> list[Record]:
    path = Path(tempfile.mkdtemp(dir=tmp_path)) / f"r{suffix}"
    writer(path, records)
    return [dataclasses.replace(r, source="") for r in read_records(path)]


@PROPERTY
@given(records=st.lists(RECORD, min_size=1, max_size=5))
def test_jsonl_round_trip_property(tmp_path, records):
    assert _round_trip(tmp_path, write_jsonl, ".jsonl", records) == records


@PROPERTY
@given(records=st.lists(RECORD, min_size=1, max_size=5))
def test_csv_round_trip_property(tmp_path, records):
    assert _round_trip(tmp_path, write_csv, ".csv", records) == records


# ---------------------------------------------------------------- crash safety

CHILD = """
import sys
sys.path.insert(0, {repo!r})
from unlearn_gui.core.common.records import Record
from unlearn_gui.core.data.writers import write_jsonl
versions = [[Record("q%d-%d" % (v, i), "answer " * 40) for i in range({n})] for v in (0, 1)]
print("ready", flush=True)
v = 1
while True:
    write_jsonl(sys.argv[1], versions[v])
    v ^= 1
"""


def test_sigkill_mid_save_never_leaves_a_truncated_file(tmp_path):
    n = 20_000  # ~6 MB per version: a save takes long enough to be killed in the middle
    expected = {}
    for v in (0, 1):
        write_jsonl(tmp_path / f"v{v}.jsonl", [Record(f"q{v}-{i}", "answer " * 40) for i in range(n)])
        expected[hashlib.sha256((tmp_path / f"v{v}.jsonl").read_bytes()).hexdigest()] = v
    work = tmp_path / "work"
    work.mkdir()
    target = work / "data.jsonl"
    target.write_bytes((tmp_path / "v0.jsonl").read_bytes())
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(repo=str(REPO), n=n))
    rng = random.Random(1234)
    for _ in range(4):
        child = subprocess.Popen([sys.executable, str(script), str(target)], stdout=subprocess.PIPE)
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.05, 0.6))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        for path in (target, work / "data.jsonl.bak"):
            if path.exists():
                assert hashlib.sha256(path.read_bytes()).hexdigest() in expected, f"{path.name} is corrupt"
        records = read_records(target)
        assert len(records) == n and records[-1].prompt.endswith(f"-{n - 1}")
