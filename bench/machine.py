"""What every benchmark prints about the machine, and a reference workload for ratios."""

from __future__ import annotations

import os
import platform
import time


def reference_seconds() -> float:
    """Time a fixed pure-Python workload: the machine's speed in this run, for ratios."""
    started = time.perf_counter()
    total = 0
    for i in range(20_000_000):
        total += i % 7
    return time.perf_counter() - started


def describe() -> str:
    """One line naming the machine."""
    model = platform.processor() or "cpu"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"machine: {platform.machine()}, {model}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores"
    )
