"""Delivery attempt histories: the generic format, the Changshu format, and Doorstep's own store.

Every reader returns the same *canonical* frame, one row per first attempt,
sorted by ``attempted_at`` (stable), with the columns of :data:`CANONICAL`:

``customer_id`` (str), ``area`` (str, ``""`` when unknown), ``attempted_at``
(naive local datetime), ``date`` (its day, midnight), ``hour`` (0-23),
``outcome`` (``delivered`` / ``failed``; ``None`` in unlabelled orders),
``failed`` (1 / 0; -1 when unlabelled), ``failure_reason`` (str or ``None``),
``weight``, ``volume`` (floats, 0 when unknown), ``source_row`` (the row's
0-based position in the file), then any extra column of the input, kept as it
was. The format is documented in docs/risk.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from doorstep.errors import (
    CorruptFileError,
    EmptyInputError,
    InputError,
    NoRecognisedColumnsError,
    UnsupportedFormatError,
)

CANONICAL = (
    "customer_id",
    "area",
    "attempted_at",
    "date",
    "hour",
    "outcome",
    "failed",
    "failure_reason",
    "weight",
    "volume",
    "source_row",
)
"""The columns every reader returns first (then the extras)."""

GENERIC_COLUMNS = (
    "customer_id",
    "area",
    "attempted_at",
    "date",
    "slot",
    "outcome",
    "failure_reason",
    "weight",
    "volume",
)
"""The columns of the generic format (``attempted_at``, or ``date`` + ``slot``)."""

CHANGSHU_REQUIRED = ("user_id", "receiving_time_code", "grid_x", "grid_y", "date")
CHANGSHU_LABEL = "is_redelivered"
CHANGSHU_AFTER_THE_FACT = ("timedelta_slots_arrival_to_receipt",)
"""Known only after the attempt: dropped as the file is read, never a predictor."""

FORMATS = ("auto", "generic", "changshu")
OUTCOMES = ("delivered", "failed")
SLOT_START_HOUR = 8
SLOT_HOURS = 2
"""Slot k of a day is the two hours from 08:00 + 2k (slot 0 = 08:00-10:00 ... 6 = 20:00-22:00)."""


def read_table(path: Path) -> pd.DataFrame:
    """A CSV (every cell as text) or Parquet file as it is; :class:`InputError` if unreadable."""
    if not path.is_file():
        raise InputError(f"{path}: no such file", hint="Give the path of a CSV or Parquet history.")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise CorruptFileError(f"{path}: cannot be read ({exc})") from exc
    raise UnsupportedFormatError(
        f"{path}: unknown file type {suffix!r}", hint="Give a .csv or .parquet history."
    )


def _row(frame: pd.DataFrame, mask: Any) -> str:
    """The first offending data row, numbered as in the file (header = line 1)."""
    position = int(mask.to_numpy().nonzero()[0][0])
    return f"row {position + 2}"


def _numbers(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    raw = frame[column]
    if not pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        raw = raw.astype(object).where(raw.astype(str).str.strip() != "", None)
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna()
    if bad.any():
        raise InputError(
            f"{path}: {_row(frame, bad)}: {column} {frame[column][bad].iloc[0]!r} is not a number",
            hint=f"Write {column} as a number, or leave it empty.",
        )
    return values.fillna(0.0).astype(float)


def _days(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    values = pd.to_datetime(frame[column], errors="coerce")
    bad = values.isna()
    if bad.any():
        raise InputError(
            f"{path}: {_row(frame, bad)}: {column} {frame[column][bad].iloc[0]!r} is not a date",
            hint="Write dates as YYYY-MM-DD and moments as YYYY-MM-DDTHH:MM (local time).",
        )
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    return values


def _finish(
    frame: pd.DataFrame,
    out: dict[str, Any],
    extras: Sequence[str],
    path: Path,
    *,
    labelled: bool,
    now: datetime | None,
) -> pd.DataFrame:
    """Assemble the canonical frame and check what every history must satisfy."""
    attempted = out["attempted_at"]
    out["date"] = attempted.dt.normalize()
    out["hour"] = attempted.dt.hour.astype(int)
    result = pd.DataFrame(out)
    result["source_row"] = range(len(result))
    for name in extras:
        result[name] = frame[name].to_numpy()
    result = result[[*CANONICAL, *extras]]
    limit = pd.Timestamp(now or datetime.now()).tz_localize(None)
    if labelled:
        future = result["attempted_at"] > limit
        if future.any():
            raise InputError(
                f"{path}: {_row(result, future)}: the attempt at "
                f"{result['attempted_at'][future].iloc[0]} is in the future",
                hint="A history holds attempts that happened; check the dates and the clock.",
            )
        if not (result["failed"] == 1).any():
            raise InputError(
                f"{path}: no failed attempt in {len(result)} rows",
                hint="The model learns from failures: give a history with failed first attempts.",
            )
    order = result["attempted_at"].argsort(kind="stable")
    return result.iloc[order].reset_index(drop=True)


def _outcomes(frame: pd.DataFrame, path: Path, *, labelled: bool) -> tuple[pd.Series, pd.Series]:
    if "outcome" not in frame.columns:
        if labelled:
            raise InputError(
                f"{path}: no outcome column",
                hint="Add outcome (delivered or failed) to every row of a history.",
            )
        blank = pd.Series([None] * len(frame), dtype=object)
        return blank, pd.Series(-1, index=frame.index)
    text = frame["outcome"].astype(str).str.strip().str.lower()
    known = text.isin(OUTCOMES)
    bad = ~known if labelled else ~(known | text.isin(("", "none", "nan")))
    if bad.any():
        raise InputError(
            f"{path}: {_row(frame, bad)}: outcome {frame['outcome'][bad].iloc[0]!r} "
            "is neither delivered nor failed",
            hint="Write outcome as delivered or failed.",
        )
    failed = (text == "failed").astype(int).where(known, -1)
    return text.where(known, None), failed


def read_generic(
    frame: pd.DataFrame, path: Path, *, labelled: bool = True, now: datetime | None = None
) -> pd.DataFrame:
    """Read a frame in the generic attempt-history format (docs/risk.md).

    Parameters
    ----------
    frame
        The file's rows as read.
    path
        Where they came from (named in messages).
    labelled
        True for a history (``outcome`` required, at least one failure, no
        future attempt); False for orders to score.
    now
        The present (default: the clock), for the future-date check.

    Returns
    -------
    pandas.DataFrame
        The canonical frame (see the module's docstring).
    """
    columns = list(frame.columns)
    if not set(columns) & set(GENERIC_COLUMNS):
        raise NoRecognisedColumnsError(
            f"{path}: none of the columns {columns[:8]} is a history column",
            hint="A history has customer_id, attempted_at (or date and slot), outcome; "
            "optional: area, failure_reason, weight, volume (docs/risk.md).",
        )
    missing = [c for c in ("customer_id",) if c not in columns]
    if "attempted_at" not in columns and not {"date", "slot"} <= set(columns):
        missing.append("attempted_at (or date and slot)")
    if missing:
        raise InputError(
            f"{path}: missing column {', '.join(missing)}",
            hint="See docs/risk.md for the history format.",
        )
    customers = frame["customer_id"].astype(str).str.strip()
    blank = customers.isin(("", "nan", "None"))
    if blank.any():
        raise InputError(f"{path}: {_row(frame, blank)}: customer_id is empty")
    if "attempted_at" in columns:
        attempted = _days(frame, "attempted_at", path)
    else:
        slots = _numbers(frame, "slot", path).astype(int)
        attempted = _days(frame, "date", path).dt.normalize() + pd.to_timedelta(
            SLOT_START_HOUR + SLOT_HOURS * slots, unit="h"
        )
    outcome, failed = _outcomes(frame, path, labelled=labelled)
    reasons = (
        frame["failure_reason"].astype(str).replace({"": None, "nan": None, "None": None})
        if "failure_reason" in columns
        else pd.Series([None] * len(frame), dtype=object)
    )
    out: dict[str, Any] = {
        "customer_id": customers.to_numpy(),
        "area": frame["area"].astype(str).replace({"nan": ""}).to_numpy()
        if "area" in columns
        else "",
        "attempted_at": attempted.reset_index(drop=True),
        "outcome": outcome.to_numpy(),
        "failed": failed.to_numpy(),
        "failure_reason": reasons.to_numpy(),
        "weight": _numbers(frame, "weight", path).to_numpy() if "weight" in columns else 0.0,
        "volume": _numbers(frame, "volume", path).to_numpy() if "volume" in columns else 0.0,
    }
    extras = [c for c in columns if c not in GENERIC_COLUMNS]
    frame = frame.reset_index(drop=True)
    return _finish(frame, out, extras, path, labelled=labelled, now=now)


def read_changshu(
    frame: pd.DataFrame, path: Path, *, labelled: bool = True, now: datetime | None = None
) -> pd.DataFrame:
    """Read the shared Changshu format (``../shared/data/parl_changshu/``).

    ``receiving_time_code`` = weekday * 10 + slot; the attempt is at the start
    of slot k (08:00 + 2k, local); ``area`` is the grid cell ``"x_y"``;
    ``is_redelivered`` is the failed first attempt; ``weight_norm`` and
    ``volume_norm`` become ``weight`` and ``volume`` (normalised units).
    ``timedelta_slots_arrival_to_receipt`` is dropped here: it is known only
    after the attempt and must never be a predictor.

    Parameters
    ----------
    frame, path, labelled, now
        As :func:`read_generic`.

    Returns
    -------
    pandas.DataFrame
        The canonical frame; the other Changshu columns kept as extras.
    """
    frame = frame.drop(columns=[c for c in CHANGSHU_AFTER_THE_FACT if c in frame.columns])
    frame = frame.reset_index(drop=True)
    missing = [c for c in CHANGSHU_REQUIRED if c not in frame.columns]
    if labelled and CHANGSHU_LABEL not in frame.columns:
        missing.append(CHANGSHU_LABEL)
    if missing:
        raise InputError(
            f"{path}: missing Changshu column {', '.join(missing)}",
            hint="See ../shared/data/parl_changshu/SOURCE.md for the columns.",
        )
    code = _numbers(frame, "receiving_time_code", path).astype(int)
    slot = code % 10
    bad = (slot > 6) | (code // 10 < 1) | (code // 10 > 7)
    if bad.any():
        raise InputError(
            f"{path}: {_row(frame, bad)}: receiving_time_code {code[bad].iloc[0]} is not "
            "weekday*10 + slot (weekday 1-7, slot 0-6)"
        )
    day = _days(frame, "date", path).dt.normalize()
    attempted = day + pd.to_timedelta(SLOT_START_HOUR + SLOT_HOURS * slot, unit="h")
    if CHANGSHU_LABEL in frame.columns:
        text = frame[CHANGSHU_LABEL].astype(str).str.strip().str.lower()
        yes, no = text.isin(("true", "1", "1.0")), text.isin(("false", "0", "0.0"))
        bad = ~(yes | no)
        if bad.any():
            raise InputError(
                f"{path}: {_row(frame, bad)}: {CHANGSHU_LABEL} "
                f"{frame[CHANGSHU_LABEL][bad].iloc[0]!r} is not True or False"
            )
        failed = yes.astype(int)
        outcome = failed.map({1: "failed", 0: "delivered"})
    else:
        failed = pd.Series(-1, index=frame.index)
        outcome = pd.Series([None] * len(frame), dtype=object)
    x = _numbers(frame, "grid_x", path).astype(int).astype(str)
    y = _numbers(frame, "grid_y", path).astype(int).astype(str)
    out: dict[str, Any] = {
        "customer_id": frame["user_id"].astype(str).to_numpy(),
        "area": (x + "_" + y).to_numpy(),
        "attempted_at": attempted,
        "outcome": outcome.to_numpy(),
        "failed": failed.to_numpy(),
        "failure_reason": None,
        "weight": _numbers(frame, "weight_norm", path).to_numpy()
        if "weight_norm" in frame.columns
        else 0.0,
        "volume": _numbers(frame, "volume_norm", path).to_numpy()
        if "volume_norm" in frame.columns
        else 0.0,
    }
    used = {*CHANGSHU_REQUIRED, CHANGSHU_LABEL, "weight_norm", "volume_norm"}
    extras = [c for c in frame.columns if c not in used]
    return _finish(frame, out, extras, path, labelled=labelled, now=now)


def history_from_facts(stops: Any, source: str = "store") -> pd.DataFrame:
    """First delivery attempts from Doorstep's own stop facts (:mod:`doorstep.analytics.facts`).

    Parameters
    ----------
    stops
        The ``stops`` facts table (Arrow table or DataFrame): ``day``,
        ``hour``, ``zip``, ``customer``, ``kind``, ``outcome``,
        ``failure_reason``, ``attempt``.
    source
        Named in messages.

    Returns
    -------
    pandas.DataFrame
        The canonical frame: delivery stops of a first attempt that were
        delivered or failed at the door; the area is the stop's postcode.
    """
    frame = stops.to_pandas() if hasattr(stops, "to_pandas") else pd.DataFrame(stops)
    path = Path(source)
    if frame.empty:
        raise EmptyInputError(f"{source}: no stops in the facts")
    keep = (
        (frame["kind"] == "delivery")
        & frame["outcome"].isin(("delivered", "failed_attempt"))
        & (frame["attempt"].fillna(1) == 1)
    )
    frame = frame[keep].reset_index(drop=True)
    if frame.empty:
        raise EmptyInputError(f"{source}: no first delivery attempt delivered or failed")
    hours = frame["hour"].fillna(12).astype(int)
    generic = pd.DataFrame(
        {
            "customer_id": frame["customer"].astype(str),
            "area": frame["zip"].fillna("").astype(str),
            "attempted_at": (
                pd.to_datetime(frame["day"]) + pd.to_timedelta(hours, unit="h")
            ).astype(str),
            "outcome": frame["outcome"].map({"delivered": "delivered", "failed_attempt": "failed"}),
            "failure_reason": frame["failure_reason"],
        }
    )
    return read_generic(generic, path)


def history_from_store(db: Any, first_day: str, last_day: str, timezone: str) -> pd.DataFrame:
    """First delivery attempts scanned through the service, read from its store.

    Parameters
    ----------
    db
        A SQLAlchemy session on the store.
    first_day, last_day
        ISO days, both included.
    timezone
        The service's zone (``settings.timezone``).

    Returns
    -------
    pandas.DataFrame
        As :func:`history_from_facts`.
    """
    from doorstep.analytics.facts import load_facts

    facts = load_facts(db, first_day, last_day, timezone, events=False)
    return history_from_facts(facts["stops"], source=f"store {first_day}..{last_day}")


def detect_format(frame: pd.DataFrame) -> str:
    """``changshu`` when the Changshu columns are there, else ``generic``."""
    if {"user_id", "receiving_time_code"} <= set(frame.columns):
        return "changshu"
    return "generic"


def read_history(
    path: Path,
    fmt: str = "auto",
    *,
    labelled: bool = True,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Read one attempt history (or, ``labelled=False``, orders to score).

    Parameters
    ----------
    path
        A ``.csv`` or ``.parquet`` file in the generic or Changshu format, or
        a facts directory / ``stops.parquet`` written by ``doorstep export
        --format parquet`` (Doorstep's own attempts).
    fmt
        ``auto`` (detect), ``generic`` or ``changshu``.
    labelled, now
        As :func:`read_generic`.

    Returns
    -------
    pandas.DataFrame
        The canonical frame.

    Raises
    ------
    InputError
        Unknown format or columns, a bad value (its row and column named), no
        rows, a future attempt or no failure at all in a history.
    """
    if fmt not in FORMATS:
        raise InputError(
            f"unknown history format {fmt!r}", hint=f"Use one of {', '.join(FORMATS)}."
        )
    if path.is_dir() or path.name == "stops.parquet":
        stops = path / "stops.parquet" if path.is_dir() else path
        if not stops.is_file():
            raise InputError(f"{path}: no stops.parquet in this directory")
        return history_from_facts(pd.read_parquet(stops), source=str(stops))
    frame = read_table(path)
    if frame.empty:
        raise EmptyInputError(f"{path}: no rows", hint="Give a history with attempts in it.")
    frame.columns = [str(c).strip() for c in frame.columns]
    chosen = detect_format(frame) if fmt == "auto" else fmt
    if chosen == "changshu":
        return read_changshu(frame, path, labelled=labelled, now=now)
    return read_generic(frame, path, labelled=labelled, now=now)


def read_histories(
    paths: Sequence[Path], fmt: str = "auto", *, now: datetime | None = None
) -> pd.DataFrame:
    """Read and concatenate several histories (same canonical columns; extras united)."""
    if not paths:
        raise InputError("no history given", hint="Name at least one history file.")
    frames = [read_history(p, fmt, now=now) for p in paths]
    if len(frames) == 1:
        return frames[0]
    joined = pd.concat(frames, ignore_index=True, sort=False)
    order = joined["attempted_at"].argsort(kind="stable")
    return joined.iloc[order].reset_index(drop=True)
