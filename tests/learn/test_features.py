"""Features use only attempts strictly before the order's date (no leakage)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from doorstep.learn.features import FEATURES, features, known_table
from doorstep.learn.history import read_history
from doorstep.learn.patterns import BANDS, HomePatterns

PATTERNS = HomePatterns(
    np.array([[0.3 if b < 6 else 0.02 for b in range(BANDS)], [0.02] * BANDS]), np.array([0.5, 0.5])
)
"""Two patterns: out in the morning (bands before 12:00), or home all day."""

HISTORY_COLUMNS = (
    "customer_id,area,attempted_at,outcome\n"
    "a,z1,2024-03-01T09:00,failed\n"
    "a,z1,2024-03-02T09:00,delivered\n"
)


def _features(tmp_path: Path, later_rows: str) -> pd.DataFrame:
    path = tmp_path / "h.csv"
    path.write_text(HISTORY_COLUMNS + later_rows, encoding="utf-8")
    history = read_history(path)
    known = known_table(history)
    matrix = features(history, known, prior=0.1, codes={"z1": 0}, patterns=PATTERNS)
    return matrix[history["date"] == pd.Timestamp("2024-03-03")]


def test_no_feature_sees_the_order_day_or_later(tmp_path: Path) -> None:
    """Changing outcomes on and after the order's date changes none of its features."""
    order = "a,z1,2024-03-03T09:00,delivered\n"
    calm = _features(
        tmp_path, order + "a,z1,2024-03-03T15:00,delivered\na,z1,2024-03-05T09:00,delivered\n"
    )
    loud = _features(
        tmp_path, order + "a,z1,2024-03-03T15:00,failed\na,z1,2024-03-05T09:00,failed\n"
    )
    pd.testing.assert_frame_equal(
        calm.iloc[[0]].reset_index(drop=True), loud.iloc[[0]].reset_index(drop=True)
    )


def test_earlier_days_do_count(tmp_path: Path) -> None:
    """The two earlier attempts (one failed) are the customer's history on day 3."""
    row = _features(tmp_path, "a,z1,2024-03-03T09:00,delivered\n").iloc[0]
    assert (row["c_n"], row["c_f"], row["days_since_last_fail"]) == (2.0, 1.0, 2.0)
    assert row["cb_n"] == 2.0 and row["a_n"] == 2.0
    assert list(row.index) == list(FEATURES)
    assert 0.02 < row["cp_rate"] < 0.3, "one failure of two at 09:00: between the patterns"


def test_the_home_pattern_rate_moves_with_earlier_failures(tmp_path: Path) -> None:
    """cp_rate at 09:00 on day 3 is higher after a morning failure than after morning deliveries."""
    order = "a,z1,2024-03-03T09:00,delivered\n"
    failed = tmp_path / "failed"
    failed.mkdir()
    kept = tmp_path / "kept"
    kept.mkdir()
    after_failures = _features(failed, order).iloc[0]["cp_rate"]
    path = kept / "h.csv"
    path.write_text(
        "customer_id,area,attempted_at,outcome\n"
        "a,z1,2024-03-01T09:00,delivered\n"
        "a,z1,2024-03-02T09:00,delivered\n"
        "a,z1,2024-03-02T19:00,failed\n" + order,
        encoding="utf-8",
    )
    history = read_history(path)
    matrix = features(history, known_table(history), 0.1, {"z1": 0}, PATTERNS)
    after_deliveries = matrix[history["date"] == pd.Timestamp("2024-03-03")].iloc[0]["cp_rate"]
    assert after_failures > after_deliveries
