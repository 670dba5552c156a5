"""Event-loop stall probe: how late does a short repeating timer fire while the app works?

A timer asks to fire every ``interval_ms``; each tick records how much later than asked it came
(its "stall", in milliseconds). A responsive window stays well under 100 ms. Reusable in tests
(which only check that samples were recorded) and in benchmarks (which report max / p99).
"""
from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer, Slot


class StallProbe(QObject):
    def __init__(self, interval_ms: int = 10, parent: QObject | None = None, record_above_ms: float = 50.0):
        super().__init__(parent)
        self.interval_ms = interval_ms
        self.samples: list[float] = []
        self.record_above_ms = record_above_ms
        self.long: list[tuple[float, float]] = []  # (seconds since start, stall ms) of the stalls above the bar
        self._t0 = 0.0
        self._last: float | None = None
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._on_timeout)

    def start(self) -> None:
        self._last = self._t0 = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._last = None

    def reset(self) -> None:
        self.samples.clear()
        self.long.clear()
        if self._last is not None:
            self._last = time.perf_counter()

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    @Slot()
    def _on_timeout(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            stall = max(0.0, (now - self._last) * 1000.0 - self.interval_ms)
            self.samples.append(stall)
            if stall > self.record_above_ms:
                self.long.append((round(now - self._t0, 3), round(stall, 1)))
        self._last = now

    def max_ms(self) -> float:
        return max(self.samples, default=0.0)

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the recorded stalls (0 when there are none)."""
        if not self.samples:
            return 0.0
        s = sorted(self.samples)
        k = min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))
        return s[k]

    def summary(self) -> dict:
        return {"n": len(self.samples), "max_ms": round(self.max_ms(), 1), "p99_ms": round(self.percentile(99), 1),
                "p50_ms": round(self.percentile(50), 1)}
