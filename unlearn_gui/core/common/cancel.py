"""Cooperative cancellation shared by the GUI thread and the training thread."""
from __future__ import annotations

import threading


class Cancelled(Exception):
    """Raised inside the engine when the token is set; turned into ``RunFinished(status="cancelled")``."""


class CancelToken:
    """A thread-safe flag. The GUI sets it directly (never through a queued signal, which the busy
    worker would only see after the run); the engine polls it at step boundaries and in generation."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()
