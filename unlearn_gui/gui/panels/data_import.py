"""Importing files into the data editor: read in the background, ask only what the file leaves open.

One file at a time goes through: read on a worker thread (``read_for_import``, no Qt, reports the
rows read so far and can be cancelled) -> if the columns are not recognised, the mapping dialog
with a preview, then read again with that mapping -> if some rows are bad, a question naming the
file and line of each (keep the valid rows, or import nothing) -> if rows have no role and none
was chosen beforehand, ask for one (the roles are then set on a worker thread too, so a
100,000-row file never stalls the window) -> ``finished`` carries the records to the editor.

Files are only ever opened for reading (``core.data.readers``); nothing is written next to them.
"""
from __future__ import annotations

import gc
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QWidget

from ...core.common.cancel import CancelToken
from ...core.data.readers import DataError, detect_shape, rows_to_records
from ...core.data.formats import open_items
from ...core.common.records import ROLES, Record
from .. import errors
from ..workers import Job
from . import import_dialogs
from .import_dialogs import PREVIEW_ROWS

TEXT_SUFFIXES = (".txt", ".md")
PROGRESS_EVERY = 2000  # rows between progress reports (and cancel checks)
PROBLEMS_SHOWN = 5


@dataclass(frozen=True)
class ImportRequest:
    path: str
    role: str | None = None  # for rows without a role; None: ask once the file has been read
    replace: bool = False  # open as the project (replace every row) instead of appending
    mapping: dict | None = None
    text_mode: str = "paragraphs"
    window_tokens: int = 256
    split_chosen: bool = False  # plain-text documents: text_mode was asked already

    @property
    def name(self) -> str:
        return Path(self.path).name or self.path


@dataclass(frozen=True)
class ReadResult:
    request: ImportRequest
    records: list = field(repr=False)
    problems: list
    untagged: int  # rows still without one of ROLES


@dataclass(frozen=True)
class NeedsMapping:
    request: ImportRequest
    columns: list
    preview: list = field(repr=False)
    reason: str


def is_text_doc(path: str) -> bool:
    return Path(path).suffix.lower() in TEXT_SUFFIXES


# ---------------------------------------------------------------- worker-thread functions (no Qt)

def read_for_import(request: ImportRequest, cancel: CancelToken, progress) -> ReadResult | NeedsMapping:
    """Every valid row plus one DataError per bad row; file-level problems raise DataError.

    The cyclic garbage collector is paused while reading and the survivors frozen after (as
    ``core.train.session.prepare`` does): its full passes over the ~100,000 new objects otherwise hold
    the GIL for a few hundred milliseconds at a time, and the window stutters while a file loads."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _read(request, cancel, progress)
    finally:
        if was_enabled:
            gc.freeze()
            gc.enable()


def _read(request: ImportRequest, cancel: CancelToken, progress) -> ReadResult | NeedsMapping:
    unit, items = open_items(request.path, request.text_mode, request.window_tokens)
    problems: list[DataError] = []
    try:
        records = rows_to_records(_counted(items, cancel, progress), request.path, request.mapping,
                                  request.role or "", unit=unit, errors=problems)
    except DataError as e:
        found = _unrecognised_columns(request) if request.mapping is None and e.line is None else None
        if found is None:
            raise
        return NeedsMapping(request, found[0], found[1], e.reason)
    if request.role:
        records = [r if r.role in ROLES else r.with_role(request.role) for r in records]  # "other" from probe files
    return ReadResult(request, records, problems, sum(r.role not in ROLES for r in records))


def assign_roles(result: ReadResult, role: str, progress) -> ReadResult:
    records = [r if r.role in ROLES else r.with_role(role) for r in result.records]
    return replace(result, request=replace(result.request, role=role), records=records, untagged=0)


def _counted(items, cancel: CancelToken, progress):
    for n, item in enumerate(items, 1):
        if n % PROGRESS_EVERY == 0:
            cancel.raise_if_cancelled()
            progress(n)
        yield item


def _unrecognised_columns(request: ImportRequest) -> tuple[list, list] | None:
    """(columns, first rows) when the file reads fine but its columns form no known shape."""
    preview, columns = [], {}
    try:
        _, items = open_items(request.path, request.text_mode, request.window_tokens)
        for line, row in items:
            if isinstance(row, dict):
                preview.append((line, row))
                columns.update(dict.fromkeys(str(k) for k in row))
                if len(preview) >= PREVIEW_ROWS:
                    break
    except DataError:
        pass
    if not columns or detect_shape(list(columns)) is not None:
        return None
    return list(columns), preview


# ---------------------------------------------------------------- GUI side

class Importer(QObject):
    """Runs import requests one after the other; dialogs open on ``parent``."""

    status = Signal(str)  # a line for the editor's status label; "" when idle
    busy_changed = Signal(bool)
    finished = Signal(object)  # a ReadResult whose rows all carry a role

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self._parent = parent
        self._queue: list[ImportRequest] = []
        self._job: Job | None = None
        self._cancel: CancelToken | None = None
        self._reading = ""  # name of the file being read, for progress lines
        self.default_role = "forget"

    def is_busy(self) -> bool:
        return self._job is not None or bool(self._queue)

    def start(self, requests: list[ImportRequest]) -> None:
        idle = not self.is_busy()
        self._queue.extend(requests)
        if idle and self._queue:
            self.busy_changed.emit(True)
            self._next()

    def cancel(self) -> None:
        """Stop the file being read (at its next progress point) and drop the queued ones."""
        self._queue.clear()
        if self._cancel is not None:
            self._cancel.cancel()

    def ask_options(self, paths: list[str], default_role: str) -> import_dialogs.ImportOptions | None:
        """The one question before reading a batch: the role of untagged rows, the text split."""
        names = [Path(p).name for p in paths]
        title = f"Import {names[0]}" if len(names) == 1 else f"Import {len(names)} files"
        intro = ("Rows are appended to the table. Rows whose file gives a role (a role or split field) "
                 "keep it; the others get the role chosen here.")
        return import_dialogs.choose_import_options(self._parent, title, intro, default_role=default_role,
                                                    text_doc=any(is_text_doc(p) for p in paths))

    # ---------------------------------------------------------------- steps
    def _next(self) -> None:
        if not self._queue:
            self.status.emit("")
            self.busy_changed.emit(False)
            return
        request = self._queue.pop(0)
        if is_text_doc(request.path) and not request.split_chosen:
            options = import_dialogs.choose_import_options(
                self._parent, f"Import {request.name}", f"{request.name} is a plain-text document.",
                text_doc=True, default_role=request.role or self.default_role)
            if options is None:
                self._skip(request, "cancelled")
                return
            request = replace(request, role=options.role, text_mode=options.text_mode,
                              window_tokens=options.window_tokens, split_chosen=True)
        self._read(request)

    def _read(self, request: ImportRequest) -> None:
        self._cancel = CancelToken()
        self._reading = request.name
        self.status.emit(f"Reading {request.name}…")
        self._start_job(partial(read_for_import, request, self._cancel), f"import {request.name}")

    def _start_job(self, fn, name: str) -> None:
        job = Job(fn, name)
        job.progress.connect(self._on_job_progress)
        job.done.connect(self._on_job_done)
        job.failed.connect(self._on_job_failed)
        self._job = job
        job.start()

    def _skip(self, request: ImportRequest, why: str) -> None:
        self.status.emit(f"Import of {request.name} {why}")
        self._next()

    @Slot(object)
    def _on_job_progress(self, rows) -> None:
        if self._job is not None:
            self.status.emit(f"Reading {self._reading}… {rows:,} rows")

    @Slot(object)
    def _on_job_failed(self, failure) -> None:
        self._job = None
        if failure.cancelled:
            self.status.emit("Import cancelled")
        else:
            name, msg = failure.name.removeprefix("import "), failure.message
            # a DataError's message starts with the file's name already: "Cannot import x.csv: line 3…"
            errors.show_error(self._parent, f"Cannot import {msg}" if msg.startswith(name) else
                              f"Cannot import {name}: {msg}", failure.details)
        self._next()

    @Slot(object)
    def _on_job_done(self, out) -> None:
        self._job = None
        if isinstance(out, NeedsMapping):
            self._on_needs_mapping(out)
            return
        request = out.request
        if out.problems and not self._keep_valid_rows(out):
            self._skip(request, "cancelled")
            return
        if out.untagged:
            if request.role is None:
                options = import_dialogs.choose_import_options(
                    self._parent, f"Open {request.name}",
                    f"{request.name}: {out.untagged:,} of {len(out.records):,} rows have no role.",
                    default_role=self.default_role)
                if options is None:
                    self._skip(request, "cancelled")
                    return
                role = options.role
            else:
                role = request.role
            self.status.emit(f"Tagging the rows of {request.name}…")
            self._start_job(partial(assign_roles, out, role), f"import {request.name}")
            return
        self.finished.emit(out)
        self._next()

    def _on_needs_mapping(self, out: NeedsMapping) -> None:
        mapping = import_dialogs.choose_mapping(self._parent, out.request.name, out.columns, out.preview, out.reason)
        if mapping is None:
            self._skip(out.request, "cancelled")
            return
        self._read(replace(out.request, mapping=mapping))

    def _keep_valid_rows(self, out: ReadResult) -> bool:
        """Bad rows are named (file, line, field, preview); the user keeps the valid rows or nothing."""
        name, problems = out.request.name, out.problems
        listed = "\n".join(f"• {p}" for p in problems[:PROBLEMS_SHOWN])
        more = f"\n… and {len(problems) - PROBLEMS_SHOWN} more" if len(problems) > PROBLEMS_SHOWN else ""
        if not out.records:
            errors.show_error(self._parent, f"No usable row in {name}; nothing was imported.\n\n{listed}{more}",
                              "\n".join(str(p) for p in problems))
            return False
        return errors.ask(self._parent, f"Problems in {name}",
                          f"{len(problems):,} row(s) of {name} could not be read:\n\n{listed}{more}\n\n"
                          f"Import the {len(out.records):,} valid rows anyway? (The file itself is not changed.)")


def records_summary(records: list[Record]) -> str:
    counts = {r: 0 for r in ROLES}
    for rec in records:
        counts[rec.role] = counts.get(rec.role, 0) + 1
    return ", ".join(f"{n:,} {r}" for r, n in counts.items() if n)
