"""Readers: every format, every shape, every error path; the source file is never modified."""
from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from unlearn_gui.core.data import readers, formats as readers_formats
from unlearn_gui.core.data.readers import SUPPORTED_SUFFIXES, DataError, detect_shape, read_records, read_records_lenient, read_refusals, rows_to_records
from unlearn_gui.core.common.records import Record

TOFU = Path(__file__).resolve().parents[2] / "resources" / "tofu"  # shipped copy of the TOFU sets


def _digest(path: Path) -> dict:
    """Hashes of a file, or of every file under a folder, plus the folder listing."""
    if path.is_dir():
        return {str(p.relative_to(path)): _digest(p) for p in sorted(path.rglob("*"))}
    return {"sha": hashlib.sha256(path.read_bytes()).hexdigest(),
            "siblings": sorted(p.name for p in path.parent.iterdir())}


def make(tmp_path: Path, name: str, content) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def jsonl(*rows) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


def read(path: Path, **kw) -> list[Record]:
    before = _digest(path)
    out = read_records(path, **kw)
    assert _digest(path) == before, "reading modified the source"
    return out


def fails(path: Path, *parts: str, line=None, field=None, **kw) -> DataError:
    """Read, expect a DataError naming the file, line and field, on one line; source unchanged."""
    before = _digest(path) if path.exists() else None
    with pytest.raises(DataError) as info:
        read_records(path, **kw)
    err = info.value
    msg = str(err)
    assert path.name in msg and "\n" not in msg and "Traceback" not in msg
    assert err.path == str(path)
    for part in parts:
        assert part in msg, msg
    if line is not None:
        assert err.line == line and f" {line}" in msg, msg
    if field is not None:
        assert err.field == field and f"field '{field}'" in msg, msg
    if before is not None:
        assert _digest(path) == before
    return err


QA = {"question": "Who wrote X?", "answer": "Y"}


# ---------------------------------------------------------------- formats

def test_jsonl_all_fields_blank_lines_and_sources(tmp_path):
    row = {"question": "Q?", "answer": "A", "paraphrased_answer": "A'", "perturbed_answer": ["B", "C"],
           "keys": " Foo | BAR |", "split": "Forget", "id": 7, "note": "n", "flag": True, "nothing": None}
    path = make(tmp_path, "d.jsonl", jsonl(row, "", "   ", QA))
    first, second = read(path)
    assert first == Record(prompt="Q?", answer="A", role="forget", paraphrased_answer="A'",
                           perturbed_answers=("B", "C"), keys=("foo", "bar"), source="d.jsonl:1",
                           extra=(("flag", "true"), ("id", "7"), ("note", "n")))
    assert second.source == "d.jsonl:4" and second.role == ""


@pytest.mark.parametrize("name", ["d.ndjson", "D.JSONL", "d.Json"])
def test_suffixes_case_insensitive(tmp_path, name):
    assert read(make(tmp_path, name, jsonl(QA, QA)))[1].prompt == "Who wrote X?"


@pytest.mark.parametrize("content", [
    json.dumps([QA, QA]), json.dumps({"data": [QA, QA]}), json.dumps({"Rows": [QA, QA]}),
    json.dumps({"examples": [QA, QA]}, indent=2), jsonl(QA, QA)])
def test_json_variants(tmp_path, content):
    records = read(make(tmp_path, "d.json", content))
    assert [r.answer for r in records] == ["Y", "Y"] and records[1].source == "d.json:2"


def test_json_single_object_and_array_row_errors(tmp_path):
    assert len(read(make(tmp_path, "one.json", json.dumps(QA)))) == 1
    path = make(tmp_path, "a.json", json.dumps([QA, {"question": "q", "answer": 5}], indent=2))
    err = fails(path, "row 2", "expected text, got a number", line=2, field="answer")
    assert err.unit == "row"
    fails(make(tmp_path, "b.json", json.dumps([QA, [1, 2]])), "row 2", "expected a JSON object", line=2)
    fails(make(tmp_path, "c.json", '[\n{"question": "q",\n "answer": }\n]'), "not valid JSON", line=3)
    fails(make(tmp_path, "e.json", "[]"), "no rows")
    fails(make(tmp_path, "f.json", "42"), "expected a JSON array")


def test_tofu_style_json_lines_inside_json(tmp_path):
    path = make(tmp_path, "world.json", jsonl(
        {"question": "Capital of France?", "answer": "Paris", "perturbed_answer": ["Rome", "Berlin", "Madrid"]},
        {"question": "Largest ocean?", "answer": "Pacific", "perturbed_answer": ["Atlantic", "Indian", "Arctic"]},
        '{"question": "broken", '))
    fails(path, "not valid JSON", line=3)
    records, errors = read_records_lenient(path)
    assert records[1].perturbed_answers == ("Atlantic", "Indian", "Arctic") and [e.line for e in errors] == [3]



def test_real_tofu_files(tmp_path):
    for name, rows in (("world_facts_perturbed.json", 117), ("real_authors_perturbed.json", 100)):
        path = tmp_path / name
        shutil.copy(TOFU / name, path)
        records = read(path)
        assert len(records) == rows and all(len(r.perturbed_answers) == 3 for r in records)
    shutil.copy(TOFU / "idontknow.jsonl", tmp_path / "idk.jsonl")
    refusals = read_refusals(tmp_path / "idk.jsonl")
    assert len(refusals) == 100 and refusals[0] == "I'm not certain about that."


def test_csv_quoting_and_physical_lines(tmp_path):
    content = ('question,answer,perturbed_answer,keys,role\r\n'
               '"Q, with comma","line one\r\nline two",,,\r\n'
               '\r\n'
               '"She said ""hi""",A2,"[""x"", ""y, z""]",k1|K2,retain\r\n'
               'Q3,A3,just one,,\r\n')
    path = make(tmp_path, "d.csv", content)
    a, b, c = read(path)
    assert (a.prompt, a.answer, a.source) == ("Q, with comma", "line one\r\nline two", "d.csv:2")
    assert (b.prompt, b.perturbed_answers, b.keys, b.role, b.source) == (
        'She said "hi"', ("x", "y, z"), ("k1", "k2"), "retain", "d.csv:5")
    assert c.perturbed_answers == ("just one",) and c.source == "d.csv:6"


def test_csv_errors_name_the_starting_line(tmp_path):
    fails(make(tmp_path, "a.csv", 'question,answer\nq,"a\nb"\nq2,\n'), "is empty", line=4, field="answer")
    fails(make(tmp_path, "b.csv", "question,answer\nq,a\nq,a,extra\n"), "3 fields", line=3)
    fails(make(tmp_path, "c.csv", 'question,answer\nq,a\nq,"never closed\nmore\n'), "never closed", line=3)
    fails(make(tmp_path, "d.csv", "question,answer\n"), "no data rows")
    fails(make(tmp_path, "e.csv", "question,Question,answer\nq,q,a\n"), "twice", line=1)
    fails(make(tmp_path, "f.csv", "Who wrote X?,Y\nq,a\n"), "columns not recognised", "Who wrote X?")


def test_tsv(tmp_path):
    (r,) = read(make(tmp_path, "d.tsv", "Prompt\tResponse\tsplit\nhello, there\tgeneral kenobi\tother\n"))
    assert (r.prompt, r.answer, r.role) == ("hello, there", "general kenobi", "other")


def test_parquet_rows(tmp_path):
    pd = pytest.importorskip("pandas")
    path = tmp_path / "d.parquet"
    pd.DataFrame({"question": ["q1", "q2", "q3"], "answer": ["a1", None, "a3"], "score": [1.5, 2.0, 3.0],
                  "perturbed_answer": [["x"], [], ["y", "z"]]}).to_parquet(path)
    fails(path, "row 2", "is empty", line=2, field="answer")
    records, errors = read_records_lenient(path)
    assert [r.source for r in records] == ["d.parquet:1", "d.parquet:3"] and errors[0].unit == "row"
    assert records[1].perturbed_answers == ("y", "z") and records[1].extra == (("score", "3.0"),)
    fails(make(tmp_path, "bad.parquet", "not parquet at all"), "not a readable Parquet file")
    fails(make(tmp_path, "empty.parquet", b""), "is empty")


def test_datasets_folder_is_read_in_memory(tmp_path):
    datasets = pytest.importorskip("datasets")
    single = tmp_path / "single"
    datasets.Dataset.from_list([QA, {"question": "q2", "answer": "a2"}]).save_to_disk(str(single))
    assert [r.prompt for r in read(single)] == ["Who wrote X?", "q2"]  # read() checks no file appeared
    dd = tmp_path / "dd"
    datasets.DatasetDict({"train": datasets.Dataset.from_list([QA]),
                          "test": datasets.Dataset.from_list([{"text": "t"}])}).save_to_disk(str(dd))
    assert read(dd)[0].answer == "Y"
    only = tmp_path / "only"
    datasets.DatasetDict({"forget": datasets.Dataset.from_list([{"text": "doc"}])}).save_to_disk(str(only))
    assert read(only)[0].kind == "text"
    two = tmp_path / "two"
    datasets.DatasetDict({"a": datasets.Dataset.from_list([QA]),
                          "b": datasets.Dataset.from_list([QA])}).save_to_disk(str(two))
    fails(two, "splits a, b")


DOC = "Title line\n\nFirst paragraph,\nstill first.\n\n\n  \nSecond one here.\r\n"


def test_text_documents(tmp_path):
    path = make(tmp_path, "doc.md", DOC)
    paras = read(path)
    assert [(r.kind, r.prompt, r.answer, r.source) for r in paras] == [
        ("text", "", "Title line", "doc.md:1"), ("text", "", "First paragraph,\nstill first.", "doc.md:3"),
        ("text", "", "Second one here.", "doc.md:8")]
    (whole,) = read(path, text_mode="whole")
    assert whole.answer.startswith("Title line") and whole.answer.endswith("here.")
    windows = read(make(tmp_path, "doc.txt", DOC), text_mode="windows", window_tokens=3)
    assert [(r.answer, r.source) for r in windows] == [
        ("Title line\n\nFirst", "doc.txt:1"), ("paragraph,\nstill first.", "doc.txt:3"),
        ("Second one here.", "doc.txt:8")]
    with pytest.raises(ValueError):
        read_records(path, text_mode="sentences")


# ---------------------------------------------------------------- shapes

@pytest.mark.parametrize("row, expected", [
    ({"Question": "q", "ANSWER": "a"}, ("q", "a", "qa")),
    ({"prompt": "q", "response": "a"}, ("q", "a", "qa")),
    ({"prompt": "q", "completion": "a"}, ("q", "a", "qa")),
    ({"instruction": "do", "input": "this", "output": "done"}, ("do\n\nthis", "done", "qa")),
    ({"instruction": "do", "input": " ", "output": "done"}, ("do", "done", "qa")),
    ({"instruction": "do", "output": "done"}, ("do", "done", "qa")),
    ({"text": "a document"}, ("", "a document", "text")),
])
def test_shapes(tmp_path, row, expected):
    (r,) = read(make(tmp_path, "d.jsonl", jsonl(row)))
    assert (r.prompt, r.answer, r.kind) == expected


def test_chat_messages(tmp_path):
    msgs = [{"role": "system", "content": "be nice"}, {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"}, {"role": "User", "content": "who?"},
            {"role": "assistant", "content": "me"}]
    (r,) = read(make(tmp_path, "chat.jsonl", jsonl({"messages": msgs, "role": "retain"})))
    assert (r.prompt, r.answer, r.role) == ("who?", "me", "retain")
    assert r.context == (("system", "be nice"), ("user", "hi"), ("assistant", "hello"))
    (s,) = read(make(tmp_path, "sg.jsonl", jsonl({"messages": [{"from": "human", "value": "q"},
                                                                   {"from": "gpt", "value": "a"}]})))
    assert (s.prompt, s.answer, s.context) == ("q", "a", ())
    csv_path = make(tmp_path, "chat.csv", "messages\n" + '"' + json.dumps(msgs).replace('"', '""') + '"\n')
    assert read(csv_path)[0].context == r.context


@pytest.mark.parametrize("msgs, part", [
    ([{"role": "user", "content": "q"}], "no assistant turn"),
    ([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}, {"role": "user", "content": "x"}],
     "after the last assistant"),
    ([{"role": "system", "content": "s"}, {"role": "assistant", "content": "a"}], "directly follow a user"),
    ([{"role": "user", "content": "q"}, {"role": "assistant", "content": 3}], "expected text, got a number"),
    ("not a list", "expected a non-empty list"),
    ([{"role": " ", "content": "q"}, {"role": "assistant", "content": "a"}], "is empty"),
    ([{"content": "q"}, {"role": "assistant", "content": "a"}], "is missing"),
    ([{"role": "user", "content": " "}, {"role": "assistant", "content": "a"}], "is empty"),
])
def test_chat_errors(tmp_path, msgs, part):
    err = fails(make(tmp_path, "chat.jsonl", jsonl({"messages": msgs})),
                part, line=1)
    assert err.field.startswith("messages")


def test_detect_shape():
    assert detect_shape(["Question", "Answer", "id"]) == "qa"
    assert detect_shape(["prompt", "response"]) == "prompt_response"
    assert detect_shape(["prompt", "completion"]) == "prompt_completion"
    assert detect_shape(["instruction", "output"]) == "instruction"
    assert detect_shape(["messages"]) == "messages"
    assert detect_shape(["TEXT", "meta"]) == "text"
    assert detect_shape(["question", "reply"]) is None and detect_shape([]) is None


def test_mapping(tmp_path):
    path = make(tmp_path, "d.jsonl", jsonl({"Q": "q1", "A": "a1", "keys": "k", "other": 1}))
    err = fails(path, "columns not recognised", "found: Q, A, keys, other", "question+answer")
    assert err.line is None
    (r,) = read_records(path, mapping={"prompt": "Q", "answer": "A"})
    assert (r.prompt, r.answer, r.keys, r.extra) == ("q1", "a1", ("k",), (("other", "1"),))
    rows = [(1, {"body": "doc one"}), (2, {"body": 3})]
    errors: list = []
    records = rows_to_records(rows, "mem.jsonl", mapping={"text": "body"}, default_role="forget", errors=errors)
    assert records[0] == Record(prompt="", answer="doc one", kind="text", role="forget", source="mem.jsonl:1")
    assert errors[0].line == 2 and errors[0].field == "body"
    with pytest.raises(DataError, match="column 'nope' not found"):
        rows_to_records(rows, "mem.jsonl", mapping={"text": "nope"})
    with pytest.raises(DataError, match="needs prompt and answer"):
        rows_to_records(rows, "mem.jsonl", mapping={"prompt": "body"})


def test_roles_and_default_role(tmp_path):
    path = make(tmp_path, "d.jsonl", jsonl(QA | {"role": "holdout"}, QA, QA | {"split": "IGNORE"}, QA | {"role": ""}))
    assert [r.role for r in read(path, default_role="forget")] == ["holdout", "forget", "ignore", "forget"]
    fails(make(tmp_path, "bad.jsonl", jsonl(QA, QA | {"split": "train"})), "expected one of forget, retain",
          "'train'", line=2, field="split")
    fails(make(tmp_path, "num.jsonl", jsonl(QA | {"role": 1})), "got a number", line=1, field="role")


@pytest.mark.parametrize("row, field, part", [
    ({"question": "q"}, "answer", "is missing"),
    ({"question": "q", "answer": ""}, "answer", "is empty"),
    ({"question": "q", "answer": "   "}, "answer", "is empty"),
    ({"question": "q", "answer": None}, "answer", "is empty"),
    ({"question": "q", "answer": 42}, "answer", "expected text, got a number"),
    ({"question": ["q"], "answer": "a"}, "question", "expected text, got a list"),
    ({"question": "q", "answer": "a", "perturbed_answer": ["x", 1]}, "perturbed_answer", "item 2"),
    ({"question": "q", "answer": "a", "perturbed_answer": 5}, "perturbed_answer", "got a number"),
    ({"question": "q", "answer": "a", "paraphrased_answer": {"x": 1}}, "paraphrased_answer", "got an object"),
    ({"question": "q", "answer": "a", "keys": [1]}, "keys", "list of text"),
])
def test_field_errors(tmp_path, row, field, part):
    err = fails(make(tmp_path, "d.jsonl", jsonl(QA, QA, row)), part, line=3, field=field)
    assert err.preview and len(err.preview) <= 120


# ---------------------------------------------------------------- file-level errors

def test_missing_folder_and_suffix(tmp_path):
    fails(tmp_path / "nope.jsonl", "file not found")
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "x.txt").write_text("x")
    fails(tmp_path / "plain", "is a folder", "save_to_disk")
    err = fails(make(tmp_path, "d.xlsx", "x"), "unsupported file type '.xlsx'")
    assert all(s in str(err) for s in SUPPORTED_SUFFIXES)


@pytest.mark.parametrize("name", ["e.jsonl", "e.json", "e.csv", "e.txt", "e.tsv"])
@pytest.mark.parametrize("content", [b"", b"  \n\r\n\t \n"])
def test_empty_files(tmp_path, name, content):
    fails(make(tmp_path, name, content), "is empty")


@pytest.mark.parametrize("content, part", [
    (b"{\"question\": \"q\"}\x00\x00\x01", "NUL bytes"),
    ((123).to_bytes(8, "little") + b'{"__metadata__":{}}' + b"\x00" * 10, "safetensors"),
    (b"GGUF\x03\x00\x00\x00" + b"\x01" * 20, "GGUF"),
    (b"PK\x03\x04" + b"\x14" * 30, "zip archive"),
])
@pytest.mark.parametrize("name", ["b.jsonl", "b.csv", "b.json", "b.txt"])
def test_binary_files(tmp_path, content, part, name):
    fails(make(tmp_path, name, content), "looks like a binary file, not text data", part)


@pytest.mark.parametrize("name", ["u.jsonl", "u.csv", "u.json", "u.txt"])
def test_non_utf8_names_line_and_byte(tmp_path, name):
    good = "question,answer\n" if name.endswith(".csv") else ""
    head = (good + jsonl(QA, QA)).encode()
    bad = '{"question": "caf'.encode() + "\xe9".encode("latin-1") + b'", "answer": "x"}\n'
    err = fails(make(tmp_path, name, head + bad), "not valid UTF-8", "re-save the file as UTF-8",
                line=head.count(b"\n") + 1)
    assert f"byte {len(head) + 17}" in str(err)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
@pytest.mark.parametrize("name", ["d.jsonl", "d.csv", "d.txt"])
def test_boms_are_accepted(tmp_path, encoding, name):
    text = {"d.jsonl": jsonl(QA), "d.csv": "question,answer\nWho wrote X?,Y\n", "d.txt": "Who wrote X?\n"}[name]
    (r,) = read(make(tmp_path, name, text.encode(encoding)))
    assert "Who wrote X?" in (r.prompt or r.answer) and not r.source.endswith(":0")


def test_enormous_lines(tmp_path, monkeypatch):
    big = "w " * 5_500_000  # 11 MB on one line
    (r,) = read(make(tmp_path, "big.jsonl", jsonl({"text": big})))
    assert len(r.answer) == len(big)
    err = fails(make(tmp_path, "bad.jsonl", jsonl(QA, '{"text": "' + big)), "not valid JSON", line=2)
    assert len(str(err)) < 400
    monkeypatch.setattr(readers_formats, "MAX_LINE_BYTES", 1_000_000)
    path = make(tmp_path, "huge.jsonl", jsonl(QA, {"text": "x" * 2_000_000}, QA))
    err = fails(path, "longer than", line=2)
    assert len(str(err)) < 400
    records, errors = read_records_lenient(path)
    assert [r.source for r in records] == ["huge.jsonl:1", "huge.jsonl:3"] and errors[0].line == 2


@pytest.mark.parametrize("line, part", [('{"question": "q", "answer": "a"', "not valid JSON"),
                                         ('["q", "a"]', "expected a JSON object"), ("42", "got a number")])
def test_malformed_jsonl_line(tmp_path, line, part):
    err = fails(make(tmp_path, "m.jsonl", jsonl(QA, line, QA)), part, line=2)
    assert err.preview == line.strip()[:120]


def test_lenient_keeps_good_rows_and_collects_all_errors(tmp_path):
    path = make(tmp_path, "l.jsonl", jsonl({"answer": "a"}, QA, "{oops", QA | {"answer": 1}, QA, [1]))
    before = _digest(path)
    records, errors = read_records_lenient(path, default_role="retain")
    assert _digest(path) == before
    assert [r.source for r in records] == ["l.jsonl:2", "l.jsonl:5"] and records[0].role == "retain"
    assert [(e.line, e.field) for e in errors] == [(1, "question"), (3, None), (4, "answer"), (6, None)]
    with pytest.raises(DataError, match="is empty"):
        read_records_lenient(make(tmp_path, "e.jsonl", ""))
    with pytest.raises(DataError, match="columns not recognised"):
        read_records_lenient(make(tmp_path, "c.jsonl", jsonl({"a": 1})))


def test_data_error_formatting_and_pickling():
    err = DataError("/x/data.jsonl", "expected text, got a number", line=3, field="answer",
                    preview={"answer": 5, "long": "z" * 500})
    assert str(err).startswith("data.jsonl, line 3, field 'answer': expected text, got a number (preview: {")
    assert len(err.preview) <= 120 and "\n" not in str(err)
    assert str(DataError("d.csv", "file is empty")) == "d.csv: file is empty"
    assert str(DataError("d.txt", "bad", preview="a\nb")) == "d.txt: bad (preview: a\\nb)"
    clone = pickle.loads(pickle.dumps(err))
    assert (str(clone), clone.line, clone.field) == (str(err), 3, "answer")
    assert isinstance(err, ValueError)


def test_read_refusals(tmp_path):
    path = make(tmp_path, "idk.jsonl", 'I don\'t know.\n\n  \n"A JSON string."\n{"text": "An object."}\n"unbalanced\n')
    before = _digest(path)
    assert read_refusals(path) == ["I don't know.", "A JSON string.", "An object.", '"unbalanced']
    assert _digest(path) == before
    with pytest.raises(DataError, match="file not found"):
        read_refusals(tmp_path / "none.txt")
    with pytest.raises(DataError, match="is empty"):
        read_refusals(make(tmp_path, "e.txt", "\n\n"))


def test_readers_import_no_qt():
    code = ("import sys, unlearn_gui.core.data.readers, unlearn_gui.core.common.storage; "
            "assert not [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph'))]")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


def test_iter_rows_and_rows_to_records_edge_cases(tmp_path):
    path = make(tmp_path, "r.jsonl", jsonl({"Q": "q", "A": "a"}, "[1]"))
    rows = readers.iter_rows(path)
    assert next(rows) == (1, {"Q": "q", "A": "a"})
    with pytest.raises(DataError, match="line 2"):
        next(rows)
    errors: list = []
    assert rows_to_records([(1, [1]), (2, {})], "x.jsonl", errors=errors) == []
    assert [(e.line, e.reason) for e in errors] == [(1, "expected an object with named fields, got a list"),
                                                   (2, "expected an object with named fields, got an empty object")]
    with pytest.raises(DataError, match="x.parquet, row 2, field 'answer'"):
        rows_to_records([(1, QA), (2, {"question": "q"})], "x.parquet")
    many = {f"column {i} " + "x" * 100: "v" for i in range(30)}
    err = fails(make(tmp_path, "wide.jsonl", jsonl(many)), "columns not recognised", "(10 more)")
    assert len(str(err)) < 2000


def test_os_errors_become_data_errors(tmp_path, monkeypatch):
    path = make(tmp_path, "p.jsonl", jsonl(QA))

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("builtins.open", denied)
    fails(path, "could not be read (Permission denied)")
    fails(make(tmp_path, "p.json", "x"), "could not be read")
