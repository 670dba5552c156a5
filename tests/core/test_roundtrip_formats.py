"""Round trip of the data editor's path, property-tested: import a file of each format, tag the
rows, save the project (JSONL with roles), reopen it: identical content. Arbitrary unicode, quotes,
commas, tabs and newlines inside fields. (JSONL and CSV writers have their own round trips in
test_storage.py; here each *import* format is produced the way other tools write it.)"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unlearn_gui.core.data.readers import read_records
from unlearn_gui.core.common.records import ROLES, Record
from unlearn_gui.core.data.writers import write_jsonl

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
NON_BLANK = TEXT.filter(lambda s: s.strip())
KEY = TEXT.map(lambda s: s.strip().lower().replace("|", "")).filter(lambda s: s and s == s.strip().lower())
RECORD = st.builds(
    Record, prompt=NON_BLANK, answer=NON_BLANK, role=st.sampled_from(("", *ROLES)), paraphrased_answer=TEXT,
    perturbed_answers=st.lists(TEXT, max_size=3).map(tuple), keys=st.lists(KEY, max_size=3).map(tuple))
RECORDS = st.lists(RECORD, min_size=1, max_size=5)
TAGS = st.lists(st.sampled_from(ROLES), min_size=5, max_size=5)
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
COLUMNS = ("question", "answer", "role", "paraphrased_answer", "perturbed_answer", "keys")


def _row(r: Record) -> dict:
    return {"question": r.prompt, "answer": r.answer, "role": r.role, "paraphrased_answer": r.paraphrased_answer,
            "perturbed_answer": list(r.perturbed_answers), "keys": "|".join(r.keys)}


def write_json(path: Path, records) -> None:
    path.write_text(json.dumps([_row(r) for r in records], ensure_ascii=False, indent=1), "utf-8")


def write_tsv(path: Path, records) -> None:
    out = io.StringIO(newline="")
    w = csv.writer(out, delimiter="\t")
    w.writerow(COLUMNS)
    for r in records:
        row = _row(r)
        row["perturbed_answer"] = json.dumps(row["perturbed_answer"], ensure_ascii=False) if r.perturbed_answers else ""
        w.writerow([row[c] for c in COLUMNS])
    path.write_text(out.getvalue(), "utf-8")


def write_parquet(path: Path, records) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([_row(r) for r in records]), path)


def write_datasets(path: Path, records) -> None:
    import datasets

    datasets.Dataset.from_list([_row(r) for r in records]).save_to_disk(str(path))


def import_tag_save_reopen(tmp_path: Path, writer, name: str, records, tags) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    src = folder / name
    writer(src, records)
    digest = _digest(src)
    imported = read_records(src)
    assert [dataclasses.replace(r, source="") for r in imported] == list(records)
    assert _digest(src) == digest, "importing modified the source"
    tagged = [r.with_role(t) for r, t in zip(imported, tags)]
    project = folder / "project.jsonl"
    write_jsonl(project, tagged)
    assert read_records(project) == [dataclasses.replace(r, source=f"project.jsonl:{i}")
                                      for i, r in enumerate(tagged, 1)]


def _digest(path: Path) -> str:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


@PROPERTY
@given(records=RECORDS, tags=TAGS)
def test_json_import_tag_save_reopen(tmp_path, records, tags):
    import_tag_save_reopen(tmp_path, write_json, "data.json", records, tags)


@PROPERTY
@given(records=RECORDS, tags=TAGS)
def test_tsv_import_tag_save_reopen(tmp_path, records, tags):
    import_tag_save_reopen(tmp_path, write_tsv, "data.tsv", records, tags)


@PROPERTY
@given(records=RECORDS, tags=TAGS)
def test_parquet_import_tag_save_reopen(tmp_path, records, tags):
    import_tag_save_reopen(tmp_path, write_parquet, "data.parquet", records, tags)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=RECORDS, tags=TAGS)
def test_datasets_folder_import_tag_save_reopen(tmp_path, records, tags):
    import_tag_save_reopen(tmp_path, write_datasets, "saved_dataset", records, tags)


LINE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\n\r\ufeff"),
               min_size=1, max_size=30).filter(lambda s: s.strip())
PARAGRAPHS = st.lists(st.lists(LINE, min_size=1, max_size=3).map("\n".join), min_size=1, max_size=5)


@PROPERTY
@given(paragraphs=PARAGRAPHS, tags=TAGS)
def test_text_document_paragraphs_import_tag_save_reopen(tmp_path, paragraphs, tags):
    records = [Record(prompt="", answer=p, kind="text") for p in paragraphs]
    import_tag_save_reopen(tmp_path, lambda path, _: path.write_text("\n\n".join(paragraphs) + "\n", "utf-8"),
                           "notes.txt", records, tags)
