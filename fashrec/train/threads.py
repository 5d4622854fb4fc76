"""Training layer: choosing torch's thread count while training on a CPU shared with other work.

With 2 threads on 2 cores, busy neighbour processes make every parallel op wait for a descheduled
thread: training measured 220 img/s alone and 5-40 img/s next to other busy processes, where 1 thread
kept going at 60-100 img/s. So "auto" keeps the last step time of each thread count and, every few
minutes, tries one step with each other count; the fastest count is used until the next try.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class ThreadTuner:
    candidates: list[int]
    probe_every_seconds: float = 180.0
    chosen: int = 0
    _seconds: dict[int, float] = field(default_factory=dict)  # smoothed step time per thread count
    _queue: list[int] = field(default_factory=list)  # counts still to try in the current probe
    _last_probe: float = field(default_factory=time.perf_counter)
    _started: float = 0.0

    def __post_init__(self) -> None:
        self.chosen = max(self.candidates)
        self._queue = sorted(self.candidates, reverse=True) if len(self.candidates) > 1 else []

    def before_step(self) -> int:
        """Threads to use for the coming step (the caller applies it with torch.set_num_threads)."""
        now = time.perf_counter()
        if not self._queue and now - self._last_probe > self.probe_every_seconds:
            self._queue = [c for c in self.candidates if c != self.chosen]
            self._last_probe = now
        self._started = now
        return self._queue[0] if self._queue else self.chosen

    def after_step(self, threads: int) -> None:
        elapsed = time.perf_counter() - self._started
        previous = self._seconds.get(threads)
        probed = bool(self._queue) and self._queue[0] == threads
        # the chosen count is smoothed over many steps; a probe replaces its count's old (stale) time
        self._seconds[threads] = elapsed if previous is None or probed else 0.8 * previous + 0.2 * elapsed
        if probed:
            self._queue.pop(0)
        if not self._queue:
            self.chosen = min(self._seconds, key=self._seconds.__getitem__)


def tuner_for(threads: int | None, cpu_count: int) -> ThreadTuner:
    """``threads`` fixed, or None for auto: choose between 1 and min(cpu_count, 4)."""
    if threads:
        return ThreadTuner([threads])
    top = max(1, min(cpu_count, 4))
    return ThreadTuner(sorted({1, top}))
