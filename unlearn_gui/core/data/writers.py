"""Project datasets on disk: records as JSON Lines or CSV, written atomically (``common.storage``).

These are the writers behind File -> Save data and the cluster export's data tables; what they
write, :mod:`readers` reads back unchanged (``tests/core/test_roundtrip_formats.py``).
"""
from __future__ import annotations

import csv
import io
import json
from typing import Iterable

from ..common.records import Record
from ..common.storage import atomic_open, atomic_write_text

__all__ = ["write_jsonl", "write_csv", "CSV_COLUMNS"]

CSV_COLUMNS = ("question", "answer", "role", "paraphrased_answer", "perturbed_answer", "keys")


def write_jsonl(path, records: Iterable[Record], *, backup: bool = True) -> None:
    """One ``Record.to_dict()`` per line, streamed (no whole-file string), non-ASCII kept readable."""
    with atomic_open(path, backup=backup) as f:
        for record in records:
            f.write(json.dumps(record.to_dict(), ensure_ascii=False).encode("utf-8") + b"\n")


def write_csv(path, records: Iterable[Record], *, backup: bool = True) -> None:
    """Question/answer records as CSV (readable by ``readers``): perturbed answers as a JSON list,
    keys joined by "|", unknown ``extra`` fields as further columns. Chat context and raw-text
    records have no faithful CSV form, so they are refused rather than flattened."""
    records = list(records)
    for r in records:
        if r.kind != "qa" or r.context:
            raise ValueError(f"{r.source or 'a record'}: only question/answer records without chat "
                             "history can be saved as CSV; save as JSONL instead")
    extra_cols = sorted({k for r in records for k, _ in r.extra} - set(CSV_COLUMNS))
    out = io.StringIO(newline="")
    writer = csv.writer(out)  # "\r\n" endings: every cell holding \r or \n gets quoted
    writer.writerow([*CSV_COLUMNS, *extra_cols])
    for r in records:
        extra = dict(r.extra)
        writer.writerow([r.prompt, r.answer, r.role, r.paraphrased_answer,
                         json.dumps(list(r.perturbed_answers), ensure_ascii=False) if r.perturbed_answers else "",
                         "|".join(r.keys), *(extra.get(c, "") for c in extra_cols)])
    atomic_write_text(path, out.getvalue(), backup=backup)
