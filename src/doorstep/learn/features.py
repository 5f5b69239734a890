"""Features of a delivery attempt, computed without leakage.

Every history feature of an attempt on day D is computed from the *known*
attempts (labelled, see :func:`known_table`) of days strictly before D: the
daily totals are accumulated per key and joined with ``merge_asof(...,
allow_exact_matches=False)``, so nothing of day D or later can reach a row of
day D, not even the other attempts of the same day. The time features
(weekday, hour) and the parcel (weight, volume) are known when the order is
planned. Nothing known only after the attempt (the Changshu
``timedelta_slots_arrival_to_receipt``, the failure reason, the outcome) is
ever a feature.

The groups (each gives counts, failures and a failure rate shrunk towards the
overall rate with a prior of :data:`PRIOR_WEIGHT` attempts):

- ``c``: the customer; ``cb``: the customer in this two-hour band of the day;
  ``cw``: the customer on this weekday;
- ``a``: the area; ``ab``: the area in this band.

Besides, ``cp_rate``: the customer's chance of failing in this band by their
home pattern (:mod:`doorstep.learn.patterns`), from their attempts in every
band before the order's date; the patterns themselves are population-level,
fitted once on the training window like the overall rate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from doorstep.learn.patterns import BANDS, HomePatterns

GROUPS: dict[str, tuple[str, ...]] = {
    "c": ("customer_id",),
    "cb": ("customer_id", "band"),
    "cw": ("customer_id", "weekday"),
    "a": ("area",),
    "ab": ("area", "band"),
}
"""Each history group's keys (``band`` = hour // 2; ``weekday`` ISO, 1 = Monday)."""

PRIOR_WEIGHT: dict[str, float] = {"c": 5.0, "cb": 3.0, "cw": 3.0, "a": 20.0, "ab": 20.0}
"""How many attempts at the overall rate each group's rate starts from."""

FEATURES = (
    "weekday",
    "hour",
    "weight",
    "volume",
    "area_code",
    "c_n",
    "c_f",
    "c_rate",
    "c_days",
    "c_day_rate",
    "days_since_last",
    "days_since_last_fail",
    "days_since_first",
    "cb_n",
    "cb_rate",
    "cw_n",
    "cw_rate",
    "a_n",
    "a_rate",
    "ab_rate",
    "cp_rate",
)
"""The model's inputs, in order."""

BOOSTED = tuple(f for f in FEATURES if f != "cp_rate")
"""The boosting's inputs; the home-pattern rate joins its score in the calibration."""

CATEGORICAL = ("area_code",)

EXPLAIN_GROUPS: dict[str, tuple[str, ...]] = {
    "customer history": (
        "c_n",
        "c_f",
        "c_rate",
        "c_days",
        "c_day_rate",
        "days_since_last",
        "days_since_last_fail",
        "days_since_first",
    ),
    "customer at this time": ("cb_n", "cb_rate", "cw_n", "cw_rate", "cp_rate"),
    "area": ("area_code", "a_n", "a_rate", "ab_rate"),
    "weekday and time": ("weekday", "hour"),
    "parcel": ("weight", "volume"),
}
"""Features explained together (a reason names the group)."""

MAX_AREA_CODES = 250
"""Areas beyond the most frequent ones get no code (missing): HistGradientBoosting's cap."""

_RAW = ("n", "f", "days", "fail_days", "first", "last", "last_fail")
BAND_COLUMNS = tuple(f"bn_{b}" for b in range(BANDS)) + tuple(f"bf_{b}" for b in range(BANDS))
"""The customer's attempts (``bn_``) and failures (``bf_``) in each band before the date."""


def known_table(history: pd.DataFrame) -> pd.DataFrame:
    """The labelled attempts reduced to daily totals: the history state a model keeps.

    Parameters
    ----------
    history
        A canonical history (:mod:`doorstep.learn.history`).

    Returns
    -------
    pandas.DataFrame
        ``customer_id, area, date, band, weekday, n, f``: attempts and
        failures per customer, area, day and two-hour band.
    """
    labelled = history[history["failed"] >= 0]
    frame = pd.DataFrame(
        {
            "customer_id": labelled["customer_id"].astype(str),
            "area": labelled["area"].astype(str),
            "date": pd.to_datetime(labelled["date"]).astype("datetime64[ns]"),
            "band": (labelled["hour"] // 2).astype(int),
            "weekday": labelled["date"].dt.day_of_week.astype(int) + 1,
            "f": labelled["failed"].astype(int),
        }
    )
    keys = ["customer_id", "area", "date", "band", "weekday"]
    out = frame.groupby(keys, sort=False, observed=True)["f"].agg(["size", "sum"]).reset_index()
    return out.rename(columns={"size": "n", "sum": "f"}).sort_values("date", kind="stable")


def _cumulative(known: pd.DataFrame, keys: tuple[str, ...]) -> pd.DataFrame:
    """Per key and day: the totals up to and including that day."""
    cols = list(keys)
    daily = known.groupby([*cols, "date"], observed=True)[["n", "f"]].sum().reset_index()
    daily = daily.sort_values([*cols, "date"], kind="stable")
    grouped = daily.groupby(cols, observed=True, sort=False)
    daily["fail_day"] = (daily["f"] > 0).astype(int)
    out = daily[cols].copy()
    out["date"] = daily["date"]
    out["n"] = grouped["n"].cumsum()
    out["f"] = grouped["f"].cumsum()
    out["days"] = grouped.cumcount() + 1
    out["fail_days"] = grouped["fail_day"].cumsum()
    out["first"] = grouped["date"].transform("min")
    out["last"] = daily["date"]
    out["last_fail"] = daily["date"].where(daily["f"] > 0)
    out["last_fail"] = out.groupby(cols, observed=True, sort=False)["last_fail"].ffill()
    return out.sort_values("date", kind="stable").reset_index(drop=True)


def _band_cumulative(known: pd.DataFrame) -> pd.DataFrame:
    """Per customer and day: attempts and failures in each band up to and including that day."""
    daily = known.groupby(["customer_id", "date", "band"], observed=True)[["n", "f"]].sum()
    wide = daily.unstack("band", fill_value=0)
    bands = range(BANDS)
    n = wide["n"].reindex(columns=bands, fill_value=0)
    f = wide["f"].reindex(columns=bands, fill_value=0)
    n.columns = [f"bn_{b}" for b in bands]
    f.columns = [f"bf_{b}" for b in bands]
    both = pd.concat([n, f], axis=1).astype(float)
    both = both.groupby(level="customer_id", observed=True, sort=False).cumsum().reset_index()
    return both.sort_values("date", kind="stable").reset_index(drop=True)


def query_frame(attempts: pd.DataFrame) -> pd.DataFrame:
    """The keys of each attempt to compute features for (any canonical frame, labelled or not)."""
    return pd.DataFrame(
        {
            "customer_id": attempts["customer_id"].astype(str).to_numpy(),
            "area": attempts["area"].astype(str).to_numpy(),
            "date": pd.to_datetime(attempts["date"]).astype("datetime64[ns]").to_numpy(),
            "hour": attempts["hour"].astype(int).to_numpy(),
            "band": (attempts["hour"] // 2).astype(int).to_numpy(),
            "weekday": attempts["date"].dt.day_of_week.astype(int).to_numpy() + 1,
            "weight": attempts["weight"].astype(float).to_numpy(),
            "volume": attempts["volume"].astype(float).to_numpy(),
        }
    )


def raw_history(queries: pd.DataFrame, known: pd.DataFrame) -> pd.DataFrame:
    """For each query row, each group's totals over the known days strictly before its date.

    Parameters
    ----------
    queries
        :func:`query_frame` rows.
    known
        :func:`known_table` rows (the state).

    Returns
    -------
    pandas.DataFrame
        ``queries`` (same order and index) plus ``<group>_<total>`` for each
        group and total (n, f, days, fail_days, first, last, last_fail).
    """
    out = queries.copy()
    work = queries.reset_index(drop=True).assign(_row=np.arange(len(queries)))
    work = work.sort_values("date", kind="stable")
    for name, keys in GROUPS.items():
        cumulative = _cumulative(known, keys).rename(columns={c: f"{name}_{c}" for c in _RAW})
        joined = pd.merge_asof(
            work[[*keys, "date", "_row"]],
            cumulative,
            on="date",
            by=list(keys),
            allow_exact_matches=False,
        ).sort_values("_row")
        for column in _RAW:
            out[f"{name}_{column}"] = joined[f"{name}_{column}"].to_numpy()
    bands = pd.merge_asof(
        work[["customer_id", "date", "_row"]],
        _band_cumulative(known),
        on="date",
        by="customer_id",
        allow_exact_matches=False,
    ).sort_values("_row")
    for column in BAND_COLUMNS:
        out[column] = bands[column].fillna(0.0).to_numpy()
    return out


def derive(
    raw: pd.DataFrame,
    prior: float,
    area_codes: Mapping[str, int],
    patterns: HomePatterns | None = None,
) -> pd.DataFrame:
    """The model's features (:data:`FEATURES`) from :func:`raw_history` columns.

    Parameters
    ----------
    raw
        Query rows with each group's totals before their date.
    prior
        The overall failure rate the rates are shrunk towards.
    area_codes
        Area -> small integer (unknown areas: missing).
    patterns
        The population's home patterns (``None``: ``cp_rate`` is missing).

    Returns
    -------
    pandas.DataFrame
        One row per query, the columns of :data:`FEATURES`, floats.
    """
    out = pd.DataFrame(index=raw.index)
    out["weekday"] = raw["weekday"].astype(float)
    out["hour"] = raw["hour"].astype(float)
    out["weight"] = raw["weight"].astype(float)
    out["volume"] = raw["volume"].astype(float)
    out["area_code"] = raw["area"].map(area_codes).astype(float)
    for name in GROUPS:
        n = raw[f"{name}_n"].fillna(0).astype(float)
        f = raw[f"{name}_f"].fillna(0).astype(float)
        weight = PRIOR_WEIGHT[name]
        out[f"{name}_n"] = n
        out[f"{name}_f"] = f
        out[f"{name}_rate"] = (f + prior * weight) / (n + weight)
    days = raw["c_days"].fillna(0).astype(float)
    out["c_days"] = days
    out["c_day_rate"] = (raw["c_fail_days"].fillna(0).astype(float) + prior * 3.0) / (days + 3.0)
    date = pd.to_datetime(raw["date"])
    for feature, column in (
        ("days_since_last", "c_last"),
        ("days_since_last_fail", "c_last_fail"),
        ("days_since_first", "c_first"),
    ):
        out[feature] = (date - pd.to_datetime(raw[column])).dt.days.astype(float)
    if patterns is None:
        out["cp_rate"] = np.nan
    else:
        attempts = raw[[f"bn_{b}" for b in range(BANDS)]].to_numpy(dtype=float)
        failures = raw[[f"bf_{b}" for b in range(BANDS)]].to_numpy(dtype=float)
        out["cp_rate"] = patterns.rate(attempts, failures, raw["band"].to_numpy())
    return out[list(FEATURES)]


def area_codes(known: pd.DataFrame) -> dict[str, int]:
    """The most frequent areas of the state, numbered 0, 1, ... (at most :data:`MAX_AREA_CODES`)."""
    counts = known.groupby("area")["n"].sum().sort_values(ascending=False, kind="stable")
    return {str(area): i for i, area in enumerate(counts.index[:MAX_AREA_CODES])}


def features(
    attempts: pd.DataFrame,
    known: pd.DataFrame,
    prior: float,
    codes: Mapping[str, int],
    patterns: HomePatterns | None = None,
) -> pd.DataFrame:
    """Leakage-free features of ``attempts`` given the known history ``known``.

    Parameters
    ----------
    attempts
        A canonical frame (history or orders).
    known
        :func:`known_table` of the attempts whose outcomes may be used; only
        its days strictly before each attempt's date count.
    prior, codes, patterns
        As :func:`derive`.

    Returns
    -------
    pandas.DataFrame
        :data:`FEATURES` per attempt, in the order of ``attempts``.
    """
    return derive(raw_history(query_frame(attempts), known), prior, codes, patterns)


@dataclass
class Snapshot:
    """Each group's totals over the whole state: the history of an attempt after the state's end.

    Built once by :meth:`of`; :meth:`features` then answers one attempt without
    joining tables (what :class:`doorstep.learn.model.TrainedRisk` uses).
    """

    totals: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]
    until: pd.Timestamp | None
    bands: dict[str, tuple[float, ...]]
    """Customer -> :data:`BAND_COLUMNS` over the whole state."""

    @classmethod
    def of(cls, known: pd.DataFrame) -> Snapshot:
        """The totals of ``known`` per group and key."""
        totals: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]] = {}
        for name, keys in GROUPS.items():
            last = _cumulative(known, keys).groupby(list(keys), observed=True).tail(1)
            totals[name] = {
                tuple(row[: len(keys)]): tuple(row[len(keys) :])
                for row in last[[*keys, *_RAW]].itertuples(index=False, name=None)
            }
        until = known["date"].max() if len(known) else None
        bands: dict[str, tuple[float, ...]] = {}
        if len(known):
            last = _band_cumulative(known).groupby("customer_id", observed=True).tail(1)
            for row in last[["customer_id", *BAND_COLUMNS]].itertuples(index=False, name=None):
                bands[str(row[0])] = tuple(float(v) for v in row[1:])
        return cls(totals, until, bands)

    def raw(
        self,
        customer_id: str,
        area: str,
        when: datetime,
        weight: float,
        volume: float,
    ) -> pd.DataFrame:
        """One :func:`raw_history` row for an attempt after the state's last day."""
        return pd.DataFrame([self.row(customer_id, area, when, weight, volume)])

    def raw_many(self, queries: Sequence[tuple[str, str, datetime, float, float]]) -> pd.DataFrame:
        """:func:`raw_history` rows for many attempts after the state's last day.

        Parameters
        ----------
        queries
            ``(customer_id, area, when, weight, volume)`` per attempt.

        Returns
        -------
        pandas.DataFrame
            One row per query, in order.
        """
        return pd.DataFrame([self.row(*q) for q in queries])

    def row(
        self, customer_id: str, area: str, when: datetime, weight: float, volume: float
    ) -> dict[str, Any]:
        """The :func:`raw_history` columns of one attempt after the state's last day."""
        day = pd.Timestamp(when.replace(tzinfo=None)).normalize()
        row: dict[str, Any] = {
            "customer_id": customer_id,
            "area": area,
            "date": day,
            "hour": when.hour,
            "band": when.hour // 2,
            "weekday": when.isoweekday(),
            "weight": float(weight),
            "volume": float(volume),
        }
        for name, keys in GROUPS.items():
            found = self.totals[name].get(tuple(row[k] for k in keys))
            values = found if found is not None else (0, 0, 0, 0, pd.NaT, pd.NaT, pd.NaT)
            for column, value in zip(_RAW, values, strict=True):
                row[f"{name}_{column}"] = value
        counts = self.bands.get(customer_id, (0.0,) * len(BAND_COLUMNS))
        row.update(zip(BAND_COLUMNS, counts, strict=True))
        return row
