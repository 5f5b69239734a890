"""The simulator's stochastic model and its parameters (one dataclass of defaults).

Every random quantity is a multiplier or a draw around what the plan says:

- **Travel time** of each leg: the planned driving time times a lognormal
  factor of median 1, ``exp(sigma * Z)`` with ``sigma = travel_spread``, or
  ``travel_spread + busy_spread`` when the leg starts in a busy hour
  (:attr:`SimulationParameters.busy_hours`, by default 07-09 and 16-18: the
  factor's spread grows, its median stays 1).
- **Service time** at each stop: the planned service time times
  ``exp(service_spread * Z)``; a failed attempt takes
  ``failed_service_share`` of it (ring, wait, leave a card).
- **Presence**: the customer is out with the probability the failure-risk
  model gives for the moment the vehicle arrives
  (:class:`doorstep.learn.risk.FailureRisk`; :class:`~doorstep.learn.risk.ConstantRisk`
  by default); nobody home means a ``failed_attempt`` with reason ``not_home``.
  A same-day second visit (a retry the dispatcher accepted) draws again, at
  its own time, with a draw of its own.
- **The dispatcher's monitor** looks every ``monitor_every_s`` (0: never) and
  records the exceptions :func:`doorstep.dispatch.exceptions.detect` finds; a
  van is over its shift ``shift_slack_s`` after its planned return (a plan
  carries no shift).
- **Breakdowns**: a Poisson process of ``breakdown_rate`` per hour on the
  road for each route; a breakdown stops the vehicle for ``repair_s``
  (whatever it was doing: driving, serving or waiting) before it carries on.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SimulationParameters:
    """How a simulated day departs from its plan (see the module's docstring).

    Attributes
    ----------
    travel_spread
        Sigma of the log of a leg's travel-time factor outside busy hours.
    busy_spread
        What busy hours add to that sigma.
    busy_hours
        ``(from_hour, to_hour)`` pairs, local clock, ``to`` excluded.
    service_spread
        Sigma of the log of a stop's service-time factor.
    failed_service_share
        Share of the planned service time a failed attempt takes.
    breakdown_rate
        Breakdowns per route and hour on the road (0: none).
    repair_s
        How long a breakdown stops the vehicle, seconds.
    monitor_every_s
        How often the dispatcher's monitor looks (simulated seconds; 0: never).
    shift_slack_s
        How long after its planned return a van's shift ends.
    """

    travel_spread: float = 0.15
    busy_spread: float = 0.20
    busy_hours: tuple[tuple[int, int], ...] = ((7, 9), (16, 18))
    service_spread: float = 0.25
    failed_service_share: float = 0.5
    breakdown_rate: float = 0.0
    repair_s: int = 2700
    monitor_every_s: int = 600
    shift_slack_s: int = 1800

    def leg_spread(self, clock_s: float) -> float:
        """Sigma of the travel-time factor of a leg that starts at ``clock_s``."""
        hour = int(clock_s // 3600) % 24
        busy = any(start <= hour < end for start, end in self.busy_hours)
        return self.travel_spread + (self.busy_spread if busy else 0.0)


NO_NOISE = SimulationParameters(
    travel_spread=0.0, busy_spread=0.0, service_spread=0.0, failed_service_share=1.0
)
"""Everything as planned (presence still drawn; breakdowns off)."""
