"""Estimated arrival times of a route's remaining stops, from the plan and what happened.

The rule is the evaluator's (:mod:`doorstep.plan.evaluator`), replayed from the
latest known moment: a stop that is finished releases the vehicle at its finish
time; a stop the vehicle has reached releases it after its service time; from
there each leg takes its planned driving time, the vehicle waits for a window
to open and serves. A stop not reached yet cannot be reached before now, so no
estimate is earlier than ``now_s``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StopTimes:
    """What the ETA of one stop depends on (clock seconds of the route's day)."""

    leg_s: int
    """Planned driving time from the previous stop (or the depot)."""
    service_s: int
    window_start_s: int | None = None
    arrived_s: int | None = None
    """When the vehicle reached the stop, if it has."""
    finished_s: int | None = None
    """When the stop was done (delivered, picked up, or failed), if it is."""


def estimate(stops: Sequence[StopTimes], departure_s: int, now_s: int | None = None) -> list[int]:
    """Arrival estimates of every stop (actual arrivals where known).

    Parameters
    ----------
    stops
        The route's stops in order.
    departure_s
        Planned departure from the depot.
    now_s
        The current clock time (None: estimate as if at the plan's start).

    Returns
    -------
    list[int]
        Per stop: the actual arrival if it happened, else the estimate.
    """
    out: list[int] = []
    free = departure_s
    for stop in stops:
        if stop.finished_s is not None or stop.arrived_s is not None:
            arrival = stop.arrived_s
            if arrival is None:
                arrival = max(free + stop.leg_s, (stop.finished_s or 0) - stop.service_s)
            out.append(arrival)
            if stop.finished_s is not None:
                free = stop.finished_s
            else:
                begin = max(arrival, stop.window_start_s or 0)
                free = max(begin + stop.service_s, now_s or 0)
            continue
        arrival = free + stop.leg_s
        if now_s is not None:
            arrival = max(arrival, now_s)
        out.append(arrival)
        begin = max(arrival, stop.window_start_s or 0)
        free = begin + stop.service_s
    return out
