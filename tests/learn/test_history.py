"""The history readers: generic, Changshu (the shared file), Doorstep's facts; bad histories."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]
import pytest

from doorstep.errors import InputError
from doorstep.learn.history import history_from_facts, read_history

CHANGSHU = (
    Path(__file__).parents[2].parent / "shared" / "data" / "parl_changshu" / "orders_2024H1.csv"
)

GOOD = (
    "customer_id,area,attempted_at,outcome,failure_reason,weight,volume,channel\n"
    "a,z1,2024-03-01T09:30,delivered,,1200,3000,web\n"
    "b,z2,2024-03-01T18:00,failed,not_home,800,,shop\n"
)


def _write(tmp_path: Path, text: str, name: str = "h.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_generic_rows_become_canonical_with_extras_kept(tmp_path: Path) -> None:
    """Outcomes map to failed 0/1, the hour is read, the extra column is kept."""
    frame = read_history(_write(tmp_path, GOOD))
    assert list(frame["failed"]) == [0, 1]
    assert list(frame["hour"]) == [9, 18]
    assert list(frame["channel"]) == ["web", "shop"]
    assert frame["volume"].iloc[1] == 0.0


def test_date_and_slot_are_an_attempt_time(tmp_path: Path) -> None:
    """Slot k starts at 08:00 + 2k."""
    text = "customer_id,date,slot,outcome\na,2024-03-01,3,failed\nb,2024-03-01,0,delivered\n"
    frame = read_history(_write(tmp_path, text))
    assert sorted(frame["hour"]) == [8, 14]


def test_parquet_reads_like_csv(tmp_path: Path) -> None:
    """The same rows from Parquet give the same frame."""
    csv = read_history(_write(tmp_path, GOOD))
    path = tmp_path / "h.parquet"
    pd.read_csv(tmp_path / "h.csv", dtype=str, keep_default_na=False).to_parquet(path)
    assert read_history(path)["failed"].tolist() == csv["failed"].tolist()


@pytest.mark.skipif(not CHANGSHU.is_file(), reason="the shared Changshu file is not here")
def test_the_changshu_file_reads_with_its_conventions() -> None:
    """111,856 orders, 4,969 failed; slots from 08:00; cells as areas; no after-the-fact column."""
    frame = read_history(CHANGSHU)
    assert len(frame) == 111_856
    assert int(frame["failed"].sum()) == 4_969
    assert "timedelta_slots_arrival_to_receipt" not in frame.columns
    assert set(frame["hour"]) <= {8, 10, 12, 14, 16, 18, 20}
    raw = pd.read_csv(CHANGSHU, nrows=1)
    first = frame[frame["source_row"] == 0].iloc[0]
    assert first["area"] == f"{raw['grid_x'][0]}_{raw['grid_y'][0]}"
    assert first["hour"] == 8 + 2 * (raw["receiving_time_code"][0] % 10)
    assert first["date"].isoweekday() == raw["receiving_time_code"][0] // 10


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("foo,bar\n1,2\n", "none of the columns"),
        ("customer_id,outcome\na,failed\n", "attempted_at"),
        ("customer_id,attempted_at,outcome\na,2024-03-01T09:00,maybe\n", "row 2: outcome"),
        ("customer_id,attempted_at,outcome\na,2999-03-01T09:00,failed\n", "future"),
        ("customer_id,attempted_at,outcome\na,2024-03-01T09:00,delivered\n", "no failed attempt"),
        ("customer_id,attempted_at,outcome\n", "no rows"),
        ("customer_id,attempted_at,outcome\na,yesterday,failed\n", "row 2: attempted_at"),
    ],
)
def test_bad_histories_say_what_is_wrong(tmp_path: Path, text: str, words: str) -> None:
    """Unknown or missing columns, bad values, future dates, no failures, no rows: InputError."""
    with pytest.raises(InputError, match=words):
        read_history(_write(tmp_path, text), now=datetime(2025, 1, 1))


def test_doorstep_facts_give_first_attempts() -> None:
    """Delivered and failed first delivery attempts are kept, other stops not."""
    stops = pd.DataFrame(
        {
            "day": ["2024-03-01", "2024-03-01", "2024-03-02", "2024-03-02"],
            "hour": [9, 17, 10, 11],
            "zip": ["00100", "00200", "00100", "00100"],
            "customer": ["a@x", "b@x", "b@x", "c@x"],
            "kind": ["delivery", "delivery", "delivery", "pickup"],
            "outcome": ["delivered", "failed_attempt", "delivered", "picked_up"],
            "failure_reason": [None, "not_home", None, None],
            "attempt": [1, 1, 2, 1],
        }
    )
    frame = history_from_facts(stops)
    assert frame["customer_id"].tolist() == ["a@x", "b@x"]
    assert frame["failed"].tolist() == [0, 1]
    assert frame["area"].tolist() == ["00100", "00200"]
