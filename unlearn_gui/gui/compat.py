"""Work around a reference-counting bug of PySide6 6.12.0 on Python < 3.12.

Measured here (PySide6-Essentials 6.12.0, CPython 3.11.7): every ``signal.emit()`` called from
Python drops one reference to ``True``, and every Qt-to-Python slot call (timer ticks, clicks,
queued events) drops one reference to ``None``. Python 3.12+ made these singletons immortal, so the
extra decrefs are harmless there; on 3.11 the count reaches zero after some thousands of calls and
the interpreter aborts ("Fatal Python error: none_dealloc" / "bool_dealloc"). PySide6 6.11.3 does
not have the bug.

The workaround does what Python 3.12 does: it gives ``None``, ``True`` and ``False`` a huge
reference count, once, so they can never be freed. It runs only when a self-test sees the leak.
"""
from __future__ import annotations

import ctypes
import sys

PIN = 1 << 40  # far more decrefs than any session can make (Python 3.12 uses a similar "immortal" count)
_applied = False


def _refcnt_field(obj) -> ctypes.c_ssize_t | None:
    """``ob_refcnt`` of ``obj`` when it sits where CPython's release builds put it, else None."""
    field = ctypes.c_ssize_t.from_address(id(obj))
    return field if field.value == sys.getrefcount(obj) - 1 else None


def emit_leaks_true(samples: int = 16) -> bool:
    """True when ``Signal.emit`` drops references to ``True`` (the PySide6 6.12.0 bug)."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(samples):
        probe.ping.emit()
    return sys.getrefcount(True) <= before - samples // 2


def apply_pyside_workaround() -> bool:
    """Pin None/True/False when the leak is present; returns whether the pin was applied."""
    global _applied
    if _applied or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return _applied
    if not emit_leaks_true():
        return False
    fields = [_refcnt_field(obj) for obj in (None, True, False)]
    if any(f is None for f in fields):
        return False  # an unusual object layout (debug build): do not touch memory we do not understand
    for f in fields:
        f.value += PIN
    _applied = True
    return True
