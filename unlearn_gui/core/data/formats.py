"""File-level reading for :mod:`readers`: one row iterator per format, plus the checks that
turn a bad file (missing, empty, binary, not UTF-8, malformed) into a one-line ``DataError``.

Every iterator yields ``(line, row)`` where ``row`` is a dict, or ``(line, DataError)`` for a
row-level problem, so strict and lenient reading share one code path. File-level problems are
raised. Files are only ever opened read-only, and ``datasets`` is loaded fully in memory so no
cache files appear next to the user's data.
"""
from __future__ import annotations

import csv
import json
import os
import re
import reprlib
from pathlib import Path
from typing import Iterator

SUPPORTED_SUFFIXES: tuple[str, ...] = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet", ".txt", ".md")
TEXT_MODES = ("paragraphs", "windows", "whole")
MAX_LINE_BYTES = 64 * 1024 * 1024  # one JSONL line above this is refused without reading it whole
SNIFF_BYTES = 8192
_DATASETS_MARKERS = ("dataset_info.json", "state.json", "dataset_dict.json")
_MAGIC = (
    (b"GGUF", "a GGUF model file"),
    (b"PK\x03\x04", "a zip archive (e.g. .xlsx, .docx or a PyTorch checkpoint)"),
    (b"PK\x05\x06", "a zip archive"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"PAR1", "a Parquet file (give it the .parquet suffix)"),
    (b"ARROW1", "an Arrow file"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"%PDF", "a PDF document"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF8_BOM = b"\xef\xbb\xbf"
_repr = reprlib.Repr()
_repr.maxstring, _repr.maxother, _repr.maxlist, _repr.maxdict, _repr.maxlevel = 60, 60, 4, 6, 2


def preview_of(obj, limit: int = 120) -> str:
    """A short, single-line, printable rendering of the offending text (never the whole row)."""
    if isinstance(obj, (bytes, bytearray)):
        obj = bytes(obj[: limit * 4]).decode("utf-8", "replace")
    text = repr(obj[: limit * 2])[1:-1] if isinstance(obj, str) else _repr.repr(obj)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class DataError(ValueError):
    """A problem in a data file, located precisely enough for a user to fix it.

    ``line`` is 1-based (a physical line for text formats, a row for Parquet, ``datasets``
    folders and JSON arrays); ``str(e)`` is a single line so it fits a status bar or log.
    """

    def __init__(self, path, reason: str, *, line: int | None = None, field: str | None = None,
                 preview: str = "", unit: str = "line"):
        self.path, self.reason, self.line, self.field = str(path), reason, line, field
        self.preview, self.unit = preview_of(preview) if preview else "", unit
        super().__init__(self._message())

    def _message(self) -> str:
        head = Path(self.path).name or self.path
        if self.line is not None:
            head += f", {self.unit} {self.line}"
        if self.field is not None:
            head += f", field '{self.field}'"
        tail = f" (preview: {self.preview})" if self.preview else ""
        return " ".join(f"{head}: {self.reason}{tail}".splitlines())

    def __reduce__(self):
        return (_rebuild, (self.path, self.reason, self.line, self.field, self.preview, self.unit))


def _rebuild(path, reason, line, field, preview, unit):
    return DataError(path, reason, line=line, field=field, preview=preview, unit=unit)


# ---------------------------------------------------------------- file-level checks

def _check_head(path: Path, head: bytes) -> None:
    """Refuse binary files early: a NUL byte or a known magic number in the first 8 KB."""
    if head.startswith(_UTF16_BOMS):
        return
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise DataError(path, f"looks like a binary file, not text data ({what})")
    if len(head) >= 10 and head[8:9] == b"{" and head[4:8] == b"\0\0\0\0":
        raise DataError(path, "looks like a binary file, not text data (a safetensors model file)")
    if b"\0" in head:
        raise DataError(path, "looks like a binary file, not text data (it contains NUL bytes; "
                              "if it is UTF-16 text, re-save it as UTF-8)")


def _decode_error(path: Path, data: bytes, err: UnicodeDecodeError, base: int = 0, line: int | None = None):
    """Name the line and byte offset of the first undecodable byte."""
    start = data.rfind(b"\n", 0, err.start) + 1
    end = data.find(b"\n", err.start)
    line = line if line is not None else data.count(b"\n", 0, err.start) + 1
    return DataError(path, f"not valid UTF-8 at byte {base + err.start} (0x{data[err.start]:02x}); "
                           "re-save the file as UTF-8", line=line,
                     preview=data[start: end if end >= 0 else len(data)])


def read_text(path: Path) -> str:
    """The whole file as text: UTF-8 (BOM accepted) or UTF-16 with a BOM; empty is an error."""
    with open(path, "rb") as f:
        data = f.read()
    _check_head(path, data[:SNIFF_BYTES])
    try:
        if data.startswith(_UTF16_BOMS):
            text = data.decode("utf-16")
        else:
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        if data.startswith(_UTF16_BOMS):
            raise DataError(path, "not valid UTF-16 text; re-save the file as UTF-8") from None
        raise _decode_error(path, data, e) from None
    if not text.strip():
        raise DataError(path, "file is empty")
    return text


def split_lines(text: str) -> Iterator[str]:
    """Split on "\\n" only: unicode line separators inside JSON strings or CSV cells are data."""
    parts = text.split("\n")
    for part in parts[:-1]:
        yield part + "\n"
    if parts[-1]:
        yield parts[-1]


# ---------------------------------------------------------------- JSON Lines / JSON

def parse_json_line(path, line_no: int, text: str):
    """One JSON Lines row: a dict, or a DataError saying why not."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        return DataError(path, f"not valid JSON: {e.msg} at column {e.colno}", line=line_no, preview=text.strip())
    except RecursionError:
        return DataError(path, "not valid JSON: nested too deeply", line=line_no, preview=text.strip())
    if not isinstance(value, dict):
        return DataError(path, f"expected a JSON object {{...}}, got {type_name(value)}", line=line_no,
                         preview=text.strip())
    return value


def _skip_rest_of_line(f) -> None:
    while True:
        chunk = f.readline(1 << 20)
        if not chunk or chunk.endswith(b"\n"):
            return


def iter_jsonl(path: Path) -> Iterator[tuple[int, object]]:
    """Stream a JSON Lines file line by line; a line over MAX_LINE_BYTES is refused, not loaded."""
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
        _check_head(path, head)
        if head.startswith(_UTF16_BOMS):
            yield from _iter_json_lines_text(path, read_text(path))
            return
        f.seek(0)
        offset, line_no, seen = 0, 0, False
        while True:
            raw = f.readline(MAX_LINE_BYTES + 1)
            if not raw:
                break
            line_no += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                _skip_rest_of_line(f)
                yield line_no, DataError(path, f"line is longer than {MAX_LINE_BYTES // 2**20} MB; JSON Lines "
                                               "needs one record per line", line=line_no, preview=raw[:200])
                offset, seen = f.tell(), True
                continue
            if line_no == 1 and raw.startswith(_UTF8_BOM):
                raw, offset = raw[3:], 3
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise _decode_error(path, raw, e, base=offset, line=line_no) from None
            offset += len(raw)
            if text.strip():
                seen = True
                yield line_no, parse_json_line(path, line_no, text)
    if not seen:
        raise DataError(path, "file is empty")


def _iter_json_lines_text(path, text: str):
    for line_no, line in enumerate(split_lines(text), 1):
        if line.strip():
            yield line_no, parse_json_line(path, line_no, line)


def iter_json(path: Path) -> tuple[str, Iterator]:
    """A JSON array, an object holding a "data"/"rows"/"examples" list, one object, or JSON Lines
    inside a .json file (as TOFU ships them): the "Extra data" error after line 1 tells them apart."""
    text = read_text(path)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        if e.msg == "Extra data":
            return "line", _iter_json_lines_text(path, text)
        bad = text.split("\n")[e.lineno - 1] if e.lineno else text
        raise DataError(path, f"not valid JSON: {e.msg} at column {e.colno}", line=e.lineno, preview=bad) from None
    if isinstance(value, dict):
        lists = [v for k, v in value.items() if k.lower() in ("data", "rows", "examples") and isinstance(v, list)]
        if not lists:
            return "line", iter([(1, value)])
        value = lists[0]
    if not isinstance(value, list):
        raise DataError(path, f"expected a JSON array of objects, got {type_name(value)}", preview=text)
    if not value:
        raise DataError(path, "contains no rows (an empty JSON array)")
    return "row", _iter_array(path, value)


def _iter_array(path, values: list):
    for i, v in enumerate(values, 1):
        if isinstance(v, dict):
            yield i, v
        else:
            yield i, DataError(path, f"expected a JSON object {{...}}, got {type_name(v)}", line=i, unit="row",
                               preview=v if isinstance(v, str) else _repr.repr(v))


def type_name(value) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "text"
    return f"a {type(value).__name__}"


# ---------------------------------------------------------------- CSV / TSV

def iter_csv(path: Path, delimiter: str) -> Iterator[tuple[int, object]]:
    """Header row required; each row is numbered by the physical line where it starts."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_BYTES))
    reader = csv.reader(split_lines(read_text(path)), delimiter=delimiter, strict=True)
    header, seen = None, False
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            err = _csv_error(path, e, start)
            if header is None:
                raise err from None
            seen = True
            yield start, err
            continue
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = _header(path, cells, start)
            continue
        seen = True
        if len(cells) != len(header):
            yield start, DataError(path, f"has {len(cells)} fields but the header has {len(header)} "
                                         "(an unquoted comma or tab?)", line=start, preview=delimiter.join(cells))
        else:
            yield start, dict(zip(header, cells))
    if header is None:
        raise DataError(path, "file is empty")
    if not seen:
        raise DataError(path, "has a header but no data rows")


def _csv_error(path, err: csv.Error, line: int) -> DataError:
    msg = str(err)
    if "unexpected end of data" in msg:
        msg = "a quoted field that starts here is never closed"
    return DataError(path, f"malformed CSV: {msg}", line=line)


def _header(path, cells: list[str], line: int) -> list[str]:
    header = [c.strip() or f"column{i}" for i, c in enumerate(cells, 1)]
    seen: set[str] = set()
    for name in header:
        if name.lower() in seen:
            raise DataError(path, f"the header names column '{name}' twice", line=line)
        seen.add(name.lower())
    return header


# ---------------------------------------------------------------- Parquet / datasets folders

def iter_parquet(path: Path) -> Iterator[tuple[int, object]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.stat().st_size == 0:
        raise DataError(path, "file is empty")
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as e:
        raise DataError(path, f"is not a readable Parquet file ({_first_line(e)})") from None
    if pf.metadata.num_rows == 0:
        raise DataError(path, "has no rows")
    row = 0
    for batch in pf.iter_batches(batch_size=8192):
        for values in batch.to_pylist():
            row += 1
            yield row, values


def is_datasets_dir(path: Path) -> bool:
    return any((path / m).is_file() for m in _DATASETS_MARKERS)


def iter_datasets_dir(path: Path) -> Iterator[tuple[int, object]]:
    """A folder written by ``save_to_disk``; DatasetDict -> "train" or its only split."""
    import datasets

    try:
        ds = datasets.load_from_disk(str(path), keep_in_memory=True)
    except Exception as e:  # datasets raises many kinds; all mean "not loadable"
        raise DataError(path, f"could not be loaded as a datasets folder ({_first_line(e)})") from None
    if isinstance(ds, datasets.DatasetDict):
        names = list(ds)
        if "train" not in ds and len(names) != 1:
            raise DataError(path, f"has splits {', '.join(names)}; expected 'train' or a single split")
        ds = ds["train" if "train" in ds else names[0]]
    if len(ds) == 0:
        raise DataError(path, "has no rows")
    for row, values in enumerate(ds.to_list(), 1):
        yield row, values


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:200]


# ---------------------------------------------------------------- plain text documents

def iter_text_doc(path: Path, mode: str, window_tokens: int) -> Iterator[tuple[int, object]]:
    """A .txt/.md document as kind-"text" rows: paragraphs, ~window_tokens-word windows, or whole."""
    if mode not in TEXT_MODES:
        raise ValueError(f"text_mode must be one of {', '.join(TEXT_MODES)}, not {mode!r}")
    if mode == "windows" and window_tokens < 1:
        raise ValueError("window_tokens must be at least 1")
    text = read_text(path).replace("\r\n", "\n")
    if mode == "whole":
        first = len(text) - len(text.lstrip())
        yield text.count("\n", 0, first) + 1, {"text": text.strip()}
    elif mode == "paragraphs":
        yield from _paragraphs(text)
    else:
        yield from _windows(text, window_tokens)


def _paragraphs(text: str):
    start, lines = 0, []
    for no, line in enumerate(text.split("\n"), 1):
        if line.strip():
            start, lines = (start if lines else no), lines + [line]
        elif lines:
            yield start, {"text": "\n".join(lines)}
            lines = []
    if lines:
        yield start, {"text": "\n".join(lines)}


def _windows(text: str, size: int):
    """Chunks keep the original spacing between words; the line is where each chunk starts."""
    words = [m.span() for m in re.finditer(r"\S+", text)]
    line, pos = 1, 0
    for i in range(0, len(words), size):
        begin, end = words[i][0], words[min(i + size, len(words)) - 1][1]
        line += text.count("\n", pos, begin)
        pos = begin
        yield line, {"text": text[begin:end]}


def open_items(path, text_mode: str = "paragraphs", window_tokens: int = 256) -> tuple[str, Iterator]:
    """Dispatch on the path: (unit, items) where unit is "line" or "row" for error messages.
    OS-level read failures (permissions, I/O errors) become DataErrors too."""
    p = Path(path)
    try:
        unit, items = _dispatch(p, text_mode, window_tokens)
    except OSError as e:
        raise _unreadable(p, e) from None
    return unit, _guard(p, items)


def _unreadable(path: Path, err: OSError) -> DataError:
    return DataError(path, f"could not be read ({err.strerror or type(err).__name__})")


def _guard(path: Path, items: Iterator) -> Iterator:
    try:
        yield from items
    except OSError as e:
        raise _unreadable(path, e) from None


def _dispatch(p: Path, text_mode: str, window_tokens: int) -> tuple[str, Iterator]:
    if not p.exists():
        raise DataError(p, f"file not found at {os.fspath(p)}")
    if p.is_dir():
        if not is_datasets_dir(p):
            raise DataError(p, "is a folder, not a dataset saved with datasets' save_to_disk "
                               f"(no {', '.join(_DATASETS_MARKERS)} inside)")
        return "row", iter_datasets_dir(p)
    suffix = p.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "line", iter_jsonl(p)
    if suffix == ".json":
        return iter_json(p)
    if suffix in (".csv", ".tsv"):
        return "line", iter_csv(p, "\t" if suffix == ".tsv" else ",")
    if suffix == ".parquet":
        return "row", iter_parquet(p)
    if suffix in (".txt", ".md"):
        return "line", iter_text_doc(p, text_mode, window_tokens)
    raise DataError(p, f"unsupported file type '{suffix or p.name}'; supported: {', '.join(SUPPORTED_SUFFIXES)}, "
                       "or a folder saved with datasets' save_to_disk")
