"""Two-hour bands of the day: an order's chance of failure per band, and windows narrowed to bands.

Band ``k`` is the two hours from ``2k`` o'clock (the Changshu slots are bands
4-10: slot 0 = 08:00-10:00). A risk-aware planner asks the failure-risk model
for each band an order's hard windows touch, then keeps only the good bands
(:func:`narrow`): the new windows always lie inside the old ones, so every
hard constraint still holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from doorstep.domain.order import Order
from doorstep.domain.time_window import TimeWindow
from doorstep.learn.risk import FailureRisk, RiskAnswerError, RiskQuery, ask
from doorstep.plan.problem import Problem

BAND_S = 2 * 3600
"""A band's length: two hours, the Changshu slot."""


def moment(day: date, seconds: int, zone: tzinfo | None = None) -> datetime:
    """``seconds`` after midnight of ``day``, local (naive unless ``zone`` is given)."""
    return datetime.combine(day, time(0), tzinfo=zone) + timedelta(seconds=int(seconds))


def visit_query(order: Order, day: date, start_s: int, zone: tzinfo | None = None) -> RiskQuery:
    """The question a visit asks the risk model.

    Parameters
    ----------
    order
        The order visited: its ``customer_id`` (``None`` when it has none), its
        zip code as the area (``None`` when blank), its weight and volume.
    day
        The day of the visit.
    start_s
        When service starts, in seconds after midnight.
    zone
        The time zone of the clock times; ``None``: naive local times.

    Returns
    -------
    RiskQuery
        The arguments of :meth:`~doorstep.learn.risk.FailureRisk.p_fail`.
    """
    return RiskQuery(
        order.customer_id,
        order.address.zip or None,
        moment(day, start_s, zone),
        order.demand.weight_g,
        order.demand.volume_ml,
    )


def visit_risks(
    risk: FailureRisk,
    orders: Sequence[Order],
    starts: Sequence[int],
    day: date,
    zone: tzinfo | None = None,
) -> list[float]:
    """The chance that each visit fails, asked in one batch (the one way a planner asks).

    Parameters
    ----------
    risk
        The failure-risk model.
    orders
        The orders visited.
    starts
        Per order, when its service starts (seconds after midnight).
    day, zone
        As :func:`visit_query`.

    Returns
    -------
    list of float
        P(the attempt fails) per visit, in order.

    Raises
    ------
    ValueError
        The model answered outside [0, 1] (or NaN); the message names the order.
    """
    queries = [visit_query(o, day, s, zone) for o, s in zip(orders, starts, strict=True)]
    try:
        return ask(risk, queries)
    except RiskAnswerError as error:
        raise ValueError(f"{error} (order {orders[error.index].id})") from error


def duty_span(problem: Problem) -> tuple[int, int]:
    """``(first shift start, last shift end)`` of the problem's fleet, in seconds."""
    shifts = [v.shift for v in problem.fleet.vehicles]
    if not shifts:
        return (0, 86_400)
    return (min(s.start for s in shifts), max(s.end for s in shifts))


@dataclass(frozen=True, slots=True)
class HourlyRisk:
    """P(fail) of every order in every hour of the day, asked once in one batch.

    Attributes
    ----------
    first_hour
        The first hour of the table.
    table
        ``table[i][h]``: P(fail) of order ``i`` (problem index) at hour ``first_hour + h``.
    """

    first_hour: int
    table: tuple[tuple[float, ...], ...]

    @classmethod
    def of(
        cls, orders: Sequence[Order], risk: FailureRisk, day: date, span: tuple[int, int]
    ) -> HourlyRisk:
        """Ask ``risk`` for each order at the middle of every hour ``span`` (seconds) touches."""
        first, last = span[0] // 3600, max(span[0], span[1] - 1) // 3600
        hours = range(first, last + 1)
        asked = visit_risks(
            risk,
            [o for o in orders for _ in hours],
            [h * 3600 + 1800 for _ in orders for h in hours],
            day,
        )
        width = len(hours)
        table = tuple(tuple(asked[i * width : (i + 1) * width]) for i in range(len(orders)))
        return cls(first, table)

    def at(self, index: int, start_s: int) -> float:
        """P(fail) of order ``index`` starting at ``start_s`` (the nearest hour of the table)."""
        row = self.table[index]
        hour = min(max(start_s // 3600 - self.first_hour, 0), len(row) - 1)
        return row[hour]


@dataclass(frozen=True, slots=True)
class BandRisk:
    """An order's chance of failure in each band its windows touch.

    Attributes
    ----------
    order_id
        The order.
    spans
        Per band touched, ``(first second, last second)`` of the band inside the
        order's windows (a band two windows touch appears once per window).
    p_fail
        P(fail) of a visit in the middle of each span, aligned with ``spans``.
    """

    order_id: str
    spans: tuple[tuple[int, int], ...]
    p_fail: tuple[float, ...]

    @property
    def best(self) -> float:
        """The lowest chance of failure in any band."""
        return min(self.p_fail, default=0.0)

    @property
    def worst(self) -> float:
        """The highest chance of failure in any band."""
        return max(self.p_fail, default=0.0)

    def at(self, start_s: int) -> float | None:
        """P(fail) of the band a visit starting at ``start_s`` falls in (``None``: outside)."""
        for (first, last), p in zip(self.spans, self.p_fail, strict=True):
            if first <= start_s <= last:
                return p
        return None


def open_windows(order: Order, day_span: tuple[int, int]) -> tuple[TimeWindow, ...]:
    """The order's hard windows, or the whole ``day_span`` when it has none."""
    return order.windows or (TimeWindow(*day_span),)


def band_risk(order: Order, risk: FailureRisk, day: date, day_span: tuple[int, int]) -> BandRisk:
    """Ask ``risk`` for every band ``order``'s windows touch.

    Parameters
    ----------
    order
        The order.
    risk
        The failure-risk model.
    day
        The planning day (its weekday matters to the model).
    day_span
        ``(start, end)`` in seconds of the time any vehicle is on duty: the
        window of an order that has none.

    Returns
    -------
    BandRisk
        One span per band touched, with its chance of failure.
    """
    spans: list[tuple[int, int]] = []
    for window in open_windows(order, day_span):
        band = window.start // BAND_S
        while band * BAND_S <= window.end:
            first = max(window.start, band * BAND_S)
            last = min(window.end, (band + 1) * BAND_S - 1)
            if first <= last:
                spans.append((first, last))
            band += 1
    p = tuple(visit_risks(risk, [order] * len(spans), [(a + b) // 2 for a, b in spans], day))
    return BandRisk(order.id, tuple(spans), p)


def narrow(bands: BandRisk, margin: float) -> tuple[TimeWindow, ...]:
    """Windows made of the bands whose chance of failure is within ``margin`` of the best.

    Neighbouring good bands are joined into one window (an order's windows must
    be disjoint), so the result is sorted, disjoint and inside the order's windows.

    Parameters
    ----------
    bands
        The order's bands and their risks.
    margin
        How much above the best band's chance a band may be and still be kept.

    Returns
    -------
    tuple of TimeWindow
        The narrowed windows (never empty when the order has a band).
    """
    limit = bands.best + margin
    windows: list[list[int]] = []
    for (first, last), p in zip(bands.spans, bands.p_fail, strict=True):
        if p > limit:
            continue
        if windows and first <= windows[-1][1] + 1:
            windows[-1][1] = max(windows[-1][1], last)
        else:
            windows.append([first, last])
    return tuple(TimeWindow(a, b) for a, b in windows)
