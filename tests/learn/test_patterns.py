"""Home patterns: customers pooled by when they are out (``doorstep.learn.patterns``)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from doorstep.learn.patterns import PatternRisk, counts_per_band, fit_patterns

MORNING, EVENING = (4, 5), (8, 9)
"""Bands (hour // 2): 08:00-12:00 and 16:00-20:00."""


def _population(
    customers: int, attempts: int, away: dict[str, tuple[int, ...]], seed: int = 0
) -> pd.DataFrame:
    """Known-table rows: each customer follows one pattern (cycled), one attempt a day."""
    rng = np.random.default_rng(seed)
    names = list(away)
    rows = []
    for c in range(customers):
        bands_out = away[names[c % len(names)]]
        for day in range(attempts):
            band = int(rng.integers(4, 10))
            p = 0.30 if band in bands_out else 0.02
            rows.append((f"{names[c % len(names)]}-{c}", band, int(rng.random() < p), day))
    frame = pd.DataFrame(rows, columns=["customer_id", "band", "f", "day"])
    frame["date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(frame["day"], unit="D")
    return frame.assign(n=1, area="z").drop(columns="day")


def test_two_patterns_are_found_and_tell_customers_apart() -> None:
    """Out-in-the-morning and out-in-the-evening customers: each gets its own bad band."""
    known = _population(200, 30, {"morning": MORNING, "evening": EVENING})
    patterns = fit_patterns(known)
    assert patterns.count >= 2
    attempts, failures = counts_per_band(known)
    ids = sorted(known["customer_id"].unique())
    morning_rows = [i for i, c in enumerate(ids) if c.startswith("morning")]
    evening_rows = [i for i, c in enumerate(ids) if c.startswith("evening")]
    in_morning = patterns.rate(attempts, failures, np.full(len(ids), 4))
    in_evening = patterns.rate(attempts, failures, np.full(len(ids), 9))
    assert (in_morning[morning_rows] > in_evening[morning_rows]).mean() > 0.9
    assert (in_evening[evening_rows] > in_morning[evening_rows]).mean() > 0.9


def test_pooling_says_more_than_the_customers_own_band() -> None:
    """A morning customer never tried at 10:00 is rated high then, from their 08:00 failures."""
    known = _population(200, 30, {"morning": MORNING, "evening": EVENING})
    risk = PatternRisk.fit(known)
    history = pd.DataFrame(
        {
            "customer_id": ["new"] * 6,
            "band": [4, 4, 4, 8, 9, 8],
            "f": [1, 1, 0, 0, 0, 0],
            "n": [1] * 6,
            "date": pd.date_range("2024-03-01", periods=6),
            "area": ["z"] * 6,
        }
    )
    both = PatternRisk.fit(pd.concat([known, history], ignore_index=True))
    at_ten = both.p_fail("new", None, datetime(2024, 4, 1, 10, 30))
    at_six_pm = both.p_fail("new", None, datetime(2024, 4, 1, 18, 30))
    assert at_ten > 3 * at_six_pm
    stranger = risk.p_fail("never-seen", None, datetime(2024, 4, 1, 10, 30))
    assert at_ten > stranger


def test_a_population_without_patterns_gets_one() -> None:
    """Everybody fails alike in every band: one pattern, at the population's rate."""
    known = _population(200, 30, {"nobody": ()})
    patterns = fit_patterns(known)
    assert patterns.count == 1
    assert abs(float(patterns.rates[0, 4:10].mean()) - 0.02) < 0.01


def test_the_fit_is_the_same_for_a_seed() -> None:
    """Two fits with one seed give the same patterns."""
    known = _population(120, 20, {"morning": MORNING, "evening": EVENING})
    one, two = fit_patterns(known, seed=3), fit_patterns(known, seed=3)
    np.testing.assert_array_equal(one.rates, two.rates)
    np.testing.assert_array_equal(one.shares, two.shares)
