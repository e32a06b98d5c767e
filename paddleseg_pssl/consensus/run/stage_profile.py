"""Where a generation run's time goes, per stage and image (``--profile``; manifest ``run.ranks``):
``decode`` (prefetch threads), ``explain`` (main thread), ``label_maths`` and ``write`` (writer
thread), and the main thread's stalls ``wait_decode`` and ``wait_writer``."""
from __future__ import annotations

import collections
import contextlib
import threading
import time
from typing import Dict, Iterator, List

STAGES = ("decode", "wait_decode", "explain", "label_maths", "write", "wait_writer")


class StageProfile:
    """Seconds spent per stage, added from any thread."""

    def __init__(self) -> None:
        self._seconds: Dict[str, float] = collections.defaultdict(float)
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; stages: {list(STAGES)}")
        with self._lock:
            self._seconds[stage] += seconds

    @contextlib.contextmanager
    def stage(self, stage: str) -> Iterator[None]:
        """Time the body as ``stage``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - start)

    def report(self, images: int, wall_s: float) -> Dict[str, Dict[str, float]]:
        """Per stage: ms per image and share of the rank's wall time (stages on other threads
        overlap, so shares need not add up to 1)."""
        with self._lock:
            seconds = dict(self._seconds)
        return {s: {"ms_per_image": round(1000.0 * seconds.get(s, 0.0) / max(1, images), 2),
                    "share_of_wall": round(seconds.get(s, 0.0) / wall_s, 4) if wall_s > 0 else 0}
                for s in STAGES}


def format_report(report: Dict[str, Dict[str, float]]) -> List[str]:
    """Table lines of :meth:`StageProfile.report` for the log."""
    lines = [f"{'stage':<12} {'ms/image':>10} {'share of wall':>14}"]
    for stage, row in report.items():
        lines.append(f"{stage:<12} {row['ms_per_image']:10.1f} {row['share_of_wall']:14.1%}")
    return lines
