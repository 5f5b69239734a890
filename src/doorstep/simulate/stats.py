"""Summaries of a KPI over runs: mean, percentiles and a confidence interval of the mean."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats as _stats


@dataclass(frozen=True, slots=True)
class Summary:
    """The distribution of one KPI over the runs.

    Attributes
    ----------
    n
        Runs with a value (a ratio without denominator has none).
    mean, p5, p95
        Mean and 5th / 95th percentiles (linear interpolation).
    ci_low, ci_high
        95% confidence interval of the mean (Student's t; equal to the mean
        when every run gives the same value, None with fewer than two runs).
    """

    n: int
    mean: float | None
    p5: float | None
    p95: float | None
    ci_low: float | None
    ci_high: float | None

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (for JSON)."""
        return asdict(self)


def summarise(values: Sequence[float | None]) -> Summary:
    """Summarise a KPI's values over runs (``None`` values left out).

    Parameters
    ----------
    values
        One value per run.

    Returns
    -------
    Summary
        All None when no run has a value.
    """
    data = np.array([v for v in values if v is not None], dtype=float)
    n = len(data)
    if n == 0:
        return Summary(0, None, None, None, None, None)
    mean = float(data.mean())
    p5, p95 = (float(x) for x in np.percentile(data, [5, 95]))
    if n < 2:
        return Summary(n, mean, p5, p95, None, None)
    sd = float(data.std(ddof=1))
    half = float(_stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n) if sd > 0 else 0.0
    return Summary(n, mean, p5, p95, mean - half, mean + half)
