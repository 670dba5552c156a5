"""Atomic, backed-up saves: a crash, a full disk or a kill mid-save never leaves a half-written file.

Each save writes a temporary file in the target's folder (same filesystem, so the final rename is
atomic), flushes and fsyncs it, then ``os.replace``s it over the target. The previous version can
be kept as ``<name>.bak``; it is swapped in atomically too (a hard link where the filesystem
allows, else a synced copy), so at every instant both names hold a complete file.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator

__all__ = ["atomic_write_text", "atomic_write_bytes", "write_json", "dumps", "staged_folder"]
def _clean(v):
    """JSON has no NaN/Infinity: write them as null so every reader can parse the file."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


def dumps(obj, **kw) -> str:
    return json.dumps(_clean(obj), ensure_ascii=False, **kw)


def atomic_write_text(path, text: str, *, backup: bool = True) -> None:
    """Replace ``path`` with ``text`` (UTF-8) atomically; keep the old file as ``.bak`` if asked."""
    with atomic_open(path, backup=backup) as f:
        f.write(text.encode("utf-8"))


def atomic_write_bytes(path, data: bytes, *, backup: bool = False) -> None:
    with atomic_open(path, backup=backup) as f:
        f.write(data)


def write_json(path, obj, *, backup: bool = False) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n", backup=backup)



@contextlib.contextmanager
def atomic_open(path, *, backup: bool = False) -> Iterator[IO[bytes]]:
    """Yield a binary file; on clean exit it atomically becomes ``path``. On any exception the
    temporary file is removed, ``path`` is untouched, and the exception propagates."""
    target = Path(os.path.realpath(path))  # write through a symlink, not over it
    tmp = _create_temp(target)
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        _copy_mode(target, tmp)
        if backup and target.exists():
            _make_backup(target)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


@contextlib.contextmanager
def staged_folder(out) -> Iterator[Path]:
    """Yield an empty folder named like ``out`` inside a hidden staging folder beside it; on clean
    exit it replaces ``out`` (the previous ``out`` is moved aside first and put back if the swap
    fails). On any exception, or a disk that fills up mid-write, ``out`` stays as it was, whole,
    and nothing is left behind. The staged folder keeps ``out``'s name for files that record it."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        new = stage / out.name
        new.mkdir()
        yield new
        if out.exists():
            old = stage / f"{out.name}.old"
            os.replace(out, old)
            try:
                os.replace(new, out)
            except BaseException:
                os.replace(old, out)  # put the previous version back whole
                raise
        else:
            os.replace(new, out)
        _fsync_dir(out.parent)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _create_temp(target: Path) -> str:
    """A fresh hidden file beside the target, created with O_EXCL (mode 0666 minus umask)."""
    while True:
        tmp = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return str(tmp)
        except FileExistsError:
            continue


def _copy_mode(target: Path, tmp: str) -> None:
    with contextlib.suppress(OSError):
        os.chmod(tmp, target.stat().st_mode & 0o7777)


def _make_backup(target: Path) -> None:
    """Point ``<name>.bak`` at the current version: link (or copy) to a temp name, then rename."""
    bak = target.with_name(target.name + ".bak")
    tmp = _create_temp(bak)
    try:
        try:
            os.unlink(tmp)
            os.link(target, tmp)
        except OSError:
            shutil.copyfile(target, tmp)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(tmp, bak)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _fsync_dir(folder: Path) -> None:
    """Persist the rename itself (POSIX); not possible on Windows, where it is skipped."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
