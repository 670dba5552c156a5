"""Keep Python's garbage collector from freezing the window during a run.

A full collection walks every tracked object; with torch, transformers and peft imported that is
~400k objects and about half a second (measured here), and it holds the GIL, so the GUI thread
stalls whenever the training thread happens to trigger one. The libraries' objects live for the
whole session: import them once in the background, then move everything alive to the permanent
generation with ``gc.freeze()`` so later collections only walk what a run creates.
"""
from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def gc_paused():
    """No cyclic collection inside; everything alive at the end is frozen. Nests (the outermost
    re-enables). For background jobs that import or load long-lived objects."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def import_run_modules() -> None:
    """Import what a run will import (no Qt; runs on the model-card job's thread).

    The cyclic collector is off meanwhile and everything imported is frozen at the end: imports
    create hundreds of thousands of long-lived objects, and the full collections they would
    trigger held the GIL for 270-330 ms each (benchmarks/gui_bench.py, "app_warmup" phase), a
    visible freeze of a window that has just opened.
    """
    with gc_paused():
        import peft  # noqa: F401

        from ..core.train import engine, session  # noqa: F401
        from ..core.evaluate import metrics

        metrics.rouge_l_recall("warm up", "warm up")  # loads rouge_score and nltk's stemmer


def freeze_long_lived() -> None:
    """Exempt everything alive now from future collections (cheap; call in the GUI thread)."""
    gc.freeze()
