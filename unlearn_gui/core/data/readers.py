"""Read forget/retain/probe files into :class:`Record` objects, never modifying the file.

Formats (by suffix) live in :mod:`readers_formats`; this module turns their rows into Records.
The shape of a file (question/answer, prompt/response, chat messages, raw text...) is detected
from the columns of its first rows (and again for any row whose own fields form another shape,
so a mixed file written by ``writers.write_jsonl`` reads back); every row is checked against it,
so a bad row is reported with its line and field instead of surfacing later as a confusing
tokenisation or training error.
"""
from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Iterable, Iterator

from .formats import SUPPORTED_SUFFIXES, DataError, open_items, preview_of, type_name
from ..common.records import ROLES, Record

__all__ = ["DataError", "SUPPORTED_SUFFIXES", "read_records", "read_records_lenient", "detect_shape",
           "rows_to_records", "iter_rows", "read_refusals", "SHAPES"]

# shape -> {target: column}; targets are what a Record needs, columns what the file calls them.
SHAPES: dict[str, dict[str, str]] = {
    "qa": {"prompt": "question", "answer": "answer"},
    "prompt_response": {"prompt": "prompt", "answer": "response"},
    "prompt_completion": {"prompt": "prompt", "answer": "completion"},
    "instruction": {"prompt": "instruction", "input": "input", "answer": "output"},
    "messages": {"messages": "messages"},
    "text": {"text": "text"},
}
_OPTIONAL_TARGETS = ("input",)  # instruction "input" may be absent
_OPTIONAL = {"paraphrased_answer": ("paraphrased_answer",),
             "perturbed_answer": ("perturbed_answer", "perturbed_answers"),
             "keys": ("keys",), "role": ("role", "split")}
MAPPING_TARGETS = ("prompt", "input", "answer", "text", "messages", *_OPTIONAL)
ACCEPTED_ROLES = (*ROLES, "other")
_SPEAKERS = {"human": "user", "gpt": "assistant", "model": "assistant", "bot": "assistant"}
_LOOKAHEAD = 50  # rows whose columns are pooled to detect the shape (optional columns may be sparse)


class _Bad(Exception):
    """A row-level problem before it is located (line, unit) and turned into a DataError."""

    def __init__(self, field: str | None, reason: str, value=None):
        super().__init__(reason)
        self.field, self.reason, self.value = field, reason, value


# ---------------------------------------------------------------- public API

def read_records(path, *, default_role: str = "", text_mode: str = "paragraphs", window_tokens: int = 256,
                 mapping: dict[str, str] | None = None) -> list[Record]:
    """Every row of ``path`` as a Record; raises DataError at the first problem."""
    unit, items = open_items(path, text_mode, window_tokens)
    return rows_to_records(items, path, mapping, default_role, unit=unit)


def read_records_lenient(path, **kwargs) -> tuple[list[Record], list[DataError]]:
    """Valid rows plus one error per bad row, for a table that shows what needs fixing.
    File-level problems (missing, empty, binary, not UTF-8, unrecognised columns) still raise."""
    unit, items = open_items(path, kwargs.pop("text_mode", "paragraphs"), kwargs.pop("window_tokens", 256))
    errors: list[DataError] = []
    records = rows_to_records(items, path, kwargs.pop("mapping", None), kwargs.pop("default_role", ""),
                              unit=unit, errors=errors, **kwargs)
    return records, errors


def iter_rows(path, *, text_mode: str = "paragraphs", window_tokens: int = 256) -> Iterator[tuple[int, dict]]:
    """Raw ``(line, row)`` pairs, e.g. for a column-mapping dialog; raises at the first bad row."""
    _, items = open_items(path, text_mode, window_tokens)
    for line, row in items:
        if isinstance(row, DataError):
            raise row
        yield line, row


def detect_shape(columns: Iterable[str]) -> str | None:
    """The first recognised shape whose required columns are all present (case-insensitive)."""
    have = {str(c).lower() for c in columns}
    for shape, targets in SHAPES.items():
        if all(col in have for t, col in targets.items() if t not in _OPTIONAL_TARGETS):
            return shape
    return None


def rows_to_records(rows: Iterable[tuple[int, dict]], path, mapping: dict[str, str] | None = None,
                    default_role: str = "", *, unit: str | None = None,
                    errors: list[DataError] | None = None) -> list[Record]:
    """Convert rows of any format. ``mapping`` ({target: column}) overrides shape detection.

    With ``errors`` given, bad rows are appended there and skipped; otherwise the first raises.
    ``unit`` ("line"/"row") words the messages; by default "row" for Parquet and folders.
    """
    path = str(path)
    if unit is None:
        unit = "row" if Path(path).suffix.lower() == ".parquet" or Path(path).is_dir() else "line"
    name = Path(path).name or path
    items = iter(rows)
    head = _lookahead(items, strict=errors is None)
    columns = {k: None for _, row in head if isinstance(row, dict) for k in row}
    out: list[Record] = []
    plan = _plan(path, list(columns), mapping) if columns else None  # None: no row has any field
    plans: dict[tuple, dict] = {}  # per key set, so files mixing shapes (chat, text, qa) read back
    for line, row in itertools.chain(head, items):
        if isinstance(row, DataError):
            _report(row, errors)
            continue
        try:
            if not isinstance(row, dict) or plan is None:
                got = "an empty object" if row == {} else type_name(row)
                raise _Bad(None, f"expected an object with named fields, got {got}", row)
            keys = tuple(row)
            if keys not in plans:
                plans[keys] = plan if mapping or detect_shape(keys) is None else _plan(path, list(keys), None)
            out.append(_to_record(row, plans[keys], default_role, f"{name}:{line}"))
        except _Bad as bad:
            value = bad.value if bad.value is not None else row
            _report(DataError(path, bad.reason, line=line, field=bad.field, preview=value, unit=unit), errors)
    return out


def read_refusals(path) -> list[str]:
    """Refusal answers, one per line, blank lines skipped. TOFU's idontknow.jsonl is plain text
    despite its suffix; a line holding a JSON string (or an object with a "text" field) is unwrapped."""
    from .formats import read_text, split_lines

    p = Path(path)
    if not p.is_file():
        raise DataError(p, f"file not found at {p}" if not p.exists() else "is a folder, not a text file")
    try:
        text = read_text(p)
    except OSError as e:
        raise DataError(p, f"could not be read ({e.strerror or type(e).__name__})") from None
    out = []
    for line in split_lines(text):
        line = line.strip()
        if line[:1] in ('"', "{"):
            try:
                value = json.loads(line)
                value = value.get("text", value) if isinstance(value, dict) else value
                line = value.strip() if isinstance(value, str) else line
            except json.JSONDecodeError:
                pass
        if line:
            out.append(line)
    return out


# ---------------------------------------------------------------- planning

def _report(err: DataError, errors: list | None) -> None:
    if errors is None:
        raise err
    errors.append(err)


def _lookahead(items: Iterator, strict: bool) -> list:
    """Buffer the first rows to pool their columns; in strict mode stop at the first bad row."""
    head, dicts = [], 0
    for item in items:
        head.append(item)
        if strict and isinstance(item[1], DataError):
            break
        dicts += isinstance(item[1], dict)
        if dicts >= _LOOKAHEAD:
            break
    return head


def _plan(path: str, columns: list[str], mapping: dict[str, str] | None) -> dict[str, str]:
    """{target: lowercase column}; shapes from detect_shape, or the user's explicit mapping."""
    lower = {c.lower() for c in columns}
    if mapping:
        plan = _plan_from_mapping(path, columns, mapping)
    else:
        shape = detect_shape(columns)
        if shape is None:
            accepted = "; ".join("+".join(c for k, c in t.items() if k not in _OPTIONAL_TARGETS)
                                 for t in SHAPES.values())
            raise DataError(path, f"columns not recognised (found: {_names(columns)}); accepted column sets: "
                                  f"{accepted} (plus optional input, paraphrased_answer, perturbed_answer, keys, "
                                  "role/split); choose the columns by hand to map them")
        plan = {t: c for t, c in SHAPES[shape].items() if c in lower}
    used = set(plan.values())
    for target, names in _OPTIONAL.items():
        found = [n for n in names if n in lower and n not in used]
        if target not in plan and found:
            # role/split may each appear in only some rows: keep every candidate, first one set wins
            plan[target] = tuple(found) if target == "role" else found[0]
            used.update(found)
    return plan


def _names(columns: list[str], limit: int = 20) -> str:
    """Column names for a message; a header-less CSV's "names" are data, so keep them short."""
    shown = [preview_of(c, 40) for c in columns[:limit]]
    return ", ".join(shown) + (f", … ({len(columns) - limit} more)" if len(columns) > limit else "")


def _plan_from_mapping(path: str, columns: list[str], mapping: dict[str, str]) -> dict[str, str]:
    lower = {c.lower() for c in columns}
    plan = {}
    for target, column in mapping.items():
        if target not in MAPPING_TARGETS:
            raise DataError(path, f"cannot map to '{target}'; targets are {', '.join(MAPPING_TARGETS)}")
        if not column:
            continue
        if column.lower() not in lower:
            raise DataError(path, f"column '{column}' not found (found: {_names(columns)})", field=column)
        plan[target] = column.lower()
    if not ("messages" in plan or "text" in plan or {"prompt", "answer"} <= plan.keys()):
        raise DataError(path, "the mapping needs prompt and answer columns, a messages column or a text column")
    return plan


# ---------------------------------------------------------------- one row

def _to_record(row: dict, plan: dict[str, str], default_role: str, source: str) -> Record:
    wanted = {c for v in plan.values() for c in ((v,) if isinstance(v, str) else v)}
    fields, extra = {}, []
    for key, value in row.items():
        key = key if isinstance(key, str) else str(key)
        low = key.lower()
        if low in wanted:
            fields[low] = value
        elif value is not None and value != "" and not low.startswith("__index_level_"):
            extra.append((key, _extra_text(value)))
    context: tuple = ()
    if "messages" in plan:
        context, prompt, answer, kind = (*_chat(fields, plan["messages"]), "qa")
    elif "answer" in plan and "prompt" in plan:
        prompt, answer, kind = _text(fields, plan["prompt"]), _text(fields, plan["answer"]), "qa"
        if "input" in plan:
            extra_input = _text(fields, plan["input"], required=False)
            prompt = f"{prompt}\n\n{extra_input}" if extra_input.strip() else prompt
    else:
        prompt, answer, kind = "", _text(fields, plan["text"]), "text"
    return Record(
        prompt=prompt, answer=answer, kind=kind, context=context, source=source,
        role=_role(fields, plan.get("role"), default_role),
        paraphrased_answer=_text(fields, plan["paraphrased_answer"], False) if "paraphrased_answer" in plan else "",
        perturbed_answers=_text_list(fields, plan.get("perturbed_answer")),
        keys=_keys(fields, plan.get("keys")),
        extra=tuple(sorted(extra)),
    )


def _text(fields: dict, col: str, required: bool = True) -> str:
    value = fields.get(col)
    if isinstance(value, str):
        if required and not value.strip():
            raise _Bad(col, "is empty")
        return value
    if value is None:
        if required:
            raise _Bad(col, "is missing" if col not in fields else "is empty (null)")
        return ""
    raise _Bad(col, f"expected text, got {type_name(value)}", value)


def _text_list(fields: dict, col: str | None) -> tuple[str, ...]:
    """A list of strings; a single string is one item, and a string holding a JSON list (the
    CSV encoding written by writers.write_csv) is decoded."""
    value = fields.get(col) if col else None
    if isinstance(value, str):
        if value.lstrip().startswith("["):
            try:
                decoded = json.loads(value)
            except json.JSONDecodeError:
                decoded = None
            if isinstance(decoded, list) and all(isinstance(v, str) for v in decoded):
                return tuple(decoded)
        return (value,) if value else ()
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise _Bad(col, f"expected a list of text, got {type_name(value)}", value)
    for i, item in enumerate(value, 1):
        if not isinstance(item, str):
            raise _Bad(col, f"expected a list of text, item {i} is {type_name(item)}", value)
    return tuple(value)


def _keys(fields: dict, col: str | None) -> tuple[str, ...]:
    value = fields.get(col) if col else None
    if isinstance(value, str):
        value = value.split("|")
    elif value is None:
        return ()
    elif not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise _Bad(col, f"expected text with '|' between keys or a list of text, got {type_name(value)}", value)
    return tuple(k for k in (v.strip().lower() for v in value) if k)


def _role(fields: dict, cols: str | tuple[str, ...] | None, default: str) -> str:
    cols = (cols,) if isinstance(cols, str) else cols or ()
    col = next((c for c in cols if fields.get(c) not in (None, "")), None)
    value = fields.get(col) if col else None
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if not isinstance(value, str):
        raise _Bad(col, f"expected one of {', '.join(ACCEPTED_ROLES)}, got {type_name(value)}", value)
    role = value.strip().lower()
    if role not in ACCEPTED_ROLES:
        raise _Bad(col, f"expected one of {', '.join(ACCEPTED_ROLES)}, got {preview_of(value, 40)!r}", value)
    return role


def _chat(fields: dict, col: str) -> tuple[tuple, str, str]:
    """(context, prompt, answer): the last assistant turn answers the user turn just before it."""
    if fields.get(col) is None:
        raise _Bad(col, "is missing" if col not in fields else "is empty (null)")
    turns = _turns(fields[col], col)
    last = max((i for i, (r, _) in enumerate(turns) if r == "assistant"), default=None)
    if last is None:
        raise _Bad(col, "has no assistant turn to use as the answer")
    if last != len(turns) - 1:
        raise _Bad(col, f"has a '{turns[-1][0]}' turn after the last assistant turn")
    if last == 0 or turns[last - 1][0] != "user":
        raise _Bad(col, "the last assistant turn must directly follow a user turn")
    for i in (last - 1, last):
        if not turns[i][1].strip():
            raise _Bad(f"{col}[{i + 1}].content", "is empty")
    return tuple(turns[: last - 1]), turns[last - 1][1], turns[last][1]


def _turns(value, col: str) -> list[tuple[str, str]]:
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise _Bad(col, "holds text that is not a valid JSON list of turns", value) from None
    if not isinstance(value, (list, tuple)) or not value:
        raise _Bad(col, f"expected a non-empty list of {{role, content}} turns, got {type_name(value)}", value)
    turns = []
    for i, turn in enumerate(value, 1):
        if not isinstance(turn, dict):
            raise _Bad(f"{col}[{i}]", f"expected a {{role, content}} object, got {type_name(turn)}", turn)
        role = _turn_text(turn, ("role", "from"), f"{col}[{i}].role").strip().lower()
        content = _turn_text(turn, ("content", "value"), f"{col}[{i}].content")
        if not role:
            raise _Bad(f"{col}[{i}].role", "is empty", turn)
        turns.append((_SPEAKERS.get(role, role), content))
    return turns


def _turn_text(turn: dict, names: tuple[str, str], where: str) -> str:
    """A turn's role or content; ShareGPT spells them "from" and "value"."""
    value = turn.get(names[0], turn.get(names[1]))
    if not isinstance(value, str):
        raise _Bad(where, "is missing" if value is None else f"expected text, got {type_name(value)}", turn)
    return value


def _extra_text(value) -> str:
    """Unknown columns survive as text so nothing is silently dropped."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)
