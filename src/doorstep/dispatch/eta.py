"""Estimated arrival times of a route's remaining stops, from the plan and what happened.

The rule is the evaluator's (:mod:`doorstep.plan.evaluator`), replayed from the
latest known moment:

- The vehicle leaves the depot at ``departure_s``: the actual departure (the
  route's first ``out_for_delivery`` scan) once it is known, else the planned
  one, or now when the vehicle is late to leave (the caller decides:
  :func:`doorstep.dispatch.ingest.refresh_route`).
- A stop that is finished releases the vehicle at its finish time; a stop the
  vehicle has reached releases it after its service time (not before now);
  from there each leg takes its planned driving time, the vehicle waits for a
  window to open and serves.
- The clock: a stop not reached yet cannot be reached before now, so no
  estimate of such a stop is earlier than ``now_s``.
- The driver's scans: no stop not reached yet is expected before the latest
  scan known on the route (any stop's arrival or finish), since the vehicle
  was there then. This is what moves a stop passed without a scan (a later
  stop was scanned while this one was not): the vehicle has moved on, and the
  stop's estimate is at least that latest scan. The bound moves only the
  stop's own estimate, not the vehicle's replay: the stops after it keep
  their estimates (a scanned one restarts the replay from what happened).
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

    @property
    def reached(self) -> bool:
        """Whether a scan says the vehicle reached (or finished) the stop."""
        return self.arrived_s is not None or self.finished_s is not None


def last_scan_s(stops: Sequence[StopTimes]) -> int | None:
    """The latest arrival or finish scanned on the route; ``None`` before any."""
    moments = [m for s in stops for m in (s.arrived_s, s.finished_s) if m is not None]
    return max(moments, default=None)


def estimate(stops: Sequence[StopTimes], departure_s: int, now_s: int | None = None) -> list[int]:
    """Arrival estimates of every stop (actual arrivals where known).

    Parameters
    ----------
    stops
        The route's stops in order.
    departure_s
        When the vehicle leaves (left) the depot: the actual departure when
        known, else the planned one.
    now_s
        The current clock time (None: estimate as if at the plan's start).

    Returns
    -------
    list[int]
        Per stop: the actual arrival if it happened, else the estimate, which
        is never earlier than ``now_s`` nor, for a stop passed without a scan,
        than the latest scan of the route (see the module's rules).
    """
    out: list[int] = []
    free = departure_s
    floor = last_scan_s(stops)
    for stop in stops:
        if stop.reached:
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
        begin = max(arrival, stop.window_start_s or 0)
        free = begin + stop.service_s
        out.append(arrival if floor is None else max(arrival, floor))
    return out
