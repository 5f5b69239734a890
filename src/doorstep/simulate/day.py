"""One simulated day: the plan's routes driven through SimPy, with noise, absences and breakdowns.

Each route is a SimPy process: it leaves the depot at the planned start,
drives each leg (planned time times the travel factor), waits for the window
to open, serves (or fails: nobody home), takes its break where the plan puts
it, and drives back. Each route also has a breakdown process that interrupts
the vehicle at the moments of a Poisson process; the vehicle stands still for
the repair time and then finishes what it was doing. A monitor process looks
at the day every ``monitor_every_s`` with the service's own exception detection
(:mod:`doorstep.simulate.monitor`). The model and its
parameters: :mod:`doorstep.simulate.params`; the random numbers:
:mod:`doorstep.simulate.draws`.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import simpy

from doorstep.dispatch.day import DayState
from doorstep.dispatch.exceptions import detect
from doorstep.learn.risk import FailureRisk
from doorstep.simulate.dispatching import AutoDispatch, Decided, apply
from doorstep.simulate.draws import Draws
from doorstep.simulate.monitor import Progress, Seen, day_state
from doorstep.simulate.params import SimulationParameters
from doorstep.simulate.plan_input import SimPlan, SimRoute, SimStop


@dataclass(slots=True)
class StopResult:
    """What happened at one stop (clock seconds of the day)."""

    stop: SimStop
    arrived_s: int
    finished_s: int
    home: bool
    p_fail: float


@dataclass(slots=True)
class RouteResult:
    """What happened on one route."""

    route: SimRoute
    departure_s: int
    back_s: int = 0
    breakdowns: int = 0
    stops: list[StopResult] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DayResult:
    """One run: every route's result, and the exceptions the dispatcher's monitor saw."""

    run: int
    day: date
    routes: tuple[RouteResult, ...]
    exceptions: tuple[Seen, ...] = ()
    decisions: tuple[Decided, ...] = ()
    """Proposals the automatic dispatcher accepted (none without one)."""


class _Vehicle:
    """The SimPy processes of one route in one run."""

    def __init__(
        self,
        env: simpy.Environment,
        route: SimRoute,
        day: date,
        draws: Draws,
        params: SimulationParameters,
        risk: FailureRisk,
    ) -> None:
        self.env = env
        self.route = route
        self.day = day
        self.draws = draws
        self.params = params
        self.risk = risk
        self.result = RouteResult(route, route.start_s)
        self.progress = Progress(route, list(route.stops))
        self.pending: list[SimStop] = list(route.stops)
        """Stops still to visit, in order (a proposal accepted on the day may change them)."""
        self.target: SimStop | None = None
        """The stop the van is driving to or serving now."""
        self.released: set[str] = set()
        """Stops handed to another van while this one was on its way to them."""
        self.busy = True
        self.process = env.process(self._drive())
        if params.breakdown_rate > 0:
            env.process(self._breakdowns())

    def _work(self, duration: float) -> Generator[Any, Any, None]:
        """Spend ``duration`` seconds, plus the repair of any breakdown meanwhile."""
        left = max(duration, 0.0)
        while True:
            began = self.env.now
            try:
                yield self.env.timeout(left)
                return
            except simpy.Interrupt:
                left = max(left - (self.env.now - began), 0.0)
                self.result.breakdowns += 1
                self.progress.repair_since_s = round(self.env.now)
                self.progress.version += 1
                yield self.env.timeout(self.params.repair_s)
                self.progress.repair_since_s = None
                self.progress.version += 1

    @property
    def vehicle_id(self) -> str:
        """The route's vehicle (also the route's id on a simulated day)."""
        return self.route.vehicle_id

    @property
    def at_door(self) -> bool:
        """Whether the van has reached the stop it is on (it finishes it, whatever happens)."""
        target = self.target
        return target is not None and target.order_id in self.progress.arrived

    def _sync(self) -> None:
        """The stops the monitor sees: done ones, the current one, then the pending ones."""
        done = [r.stop for r in self.result.stops]
        target = self.target
        now = [target] if target is not None and target.order_id not in self.released else []
        self.progress.stops = [*done, *now, *self.pending]
        self.progress.version += 1

    def _leg(self, planned_s: int, key: str) -> Generator[Any, Any, None]:
        spread = self.params.leg_spread(self.env.now)
        factor = _lognormal(spread, self.draws.normal("leg", key))
        yield from self._work(planned_s * factor)

    def _drive(self) -> Generator[Any, Any, None]:
        route, params = self.route, self.params
        yield self.env.timeout(max(route.start_s - self.env.now, 0))
        progress = self.progress
        progress.departed_s = round(self.env.now)
        progress.version += 1
        if route.break_after == 0:
            yield from self._work(route.break_s)
        served = 0
        while self.pending:
            stop = self.target = self.pending.pop(0)
            self._sync()
            yield from self._leg(stop.leg_s, f"{stop.prev_key}>{stop.order_id}")
            if stop.order_id in self.released:
                self.target = None  # another van serves it now
                self._sync()
                continue
            arrived = self.env.now
            progress.arrived[stop.order_id] = round(arrived)
            progress.version += 1
            if stop.window_start_s is not None and self.env.now < stop.window_start_s:
                yield from self._work(stop.window_start_s - self.env.now)
            # Presence at the door: when service starts, after any wait for the window.
            when = datetime.combine(self.day, datetime.min.time()) + timedelta(seconds=self.env.now)
            p_fail = self.risk.p_fail(
                stop.customer_id, stop.zip, when, stop.weight_g, stop.volume_ml
            )
            home = self.draws.uniform("presence", stop.order_id) >= p_fail
            factor = _lognormal(params.service_spread, self.draws.normal("service", stop.order_id))
            service = stop.service_s * factor
            yield from self._work(service if home else service * params.failed_service_share)
            self.result.stops.append(
                StopResult(stop, round(arrived), round(self.env.now), home, p_fail)
            )
            progress.finished[stop.order_id] = round(self.env.now)
            if not home:
                progress.failed.add(stop.order_id)
            self.target = None
            self._sync()
            served += 1
            if route.break_after == served:
                yield from self._work(route.break_s)
        done = self.result.stops
        last = done[-1].stop.order_id if done else route.stops[-1].order_id
        yield from self._leg(route.return_leg_s, f"{last}>depot:{route.depot_id}")
        self.result.back_s = round(self.env.now)
        progress.back_s = self.result.back_s
        progress.version += 1
        self.busy = False

    def _breakdowns(self) -> Generator[Any, Any, None]:
        count = 0
        yield self.env.timeout(max(self.route.start_s - self.env.now, 0))
        while True:
            gap = self.draws.exponential(
                "breakdown", f"{self.route.vehicle_id}#{count}", self.params.breakdown_rate / 3600
            )
            yield self.env.timeout(gap)
            if not self.busy:
                return
            self.process.interrupt("breakdown")
            count += 1
            yield self.env.timeout(self.params.repair_s)


def _lognormal(spread: float, z: float) -> float:
    """``exp(spread * z)``: a lognormal factor of median 1."""
    return math.exp(spread * z) if spread > 0 else 1.0


def simulate_day(
    plan: SimPlan,
    day: date,
    draws: Draws,
    params: SimulationParameters,
    risk: FailureRisk,
    timezone: str = "Europe/Helsinki",
    dispatcher: AutoDispatch | None = None,
) -> DayResult:
    """Drive every route of ``plan`` once, the dispatcher's monitor looking on.

    Parameters
    ----------
    plan
        The routes.
    day
        The date the plan is for (the risk model's weekday and clock).
    draws
        The run's random numbers (seed and run number).
    params
        The stochastic model.
    risk
        Where presence comes from.
    timezone
        The zone of the plan's clock (for the monitor's day).
    dispatcher
        Accepts proposals for the exceptions the monitor finds and changes the
        vans' stops accordingly; ``None``: exceptions are only recorded.

    Returns
    -------
    DayResult
        Per route, when it left and came back and what happened at each stop.
    """
    env = simpy.Environment(initial_time=min(r.start_s for r in plan.routes))
    vehicles = [_Vehicle(env, route, day, draws, params, risk) for route in plan.routes]
    seen: dict[str, Seen] = {}
    decided: list[Decided] = []
    if params.monitor_every_s > 0:
        looking = _Monitor(env, vehicles, day, params, timezone, seen, dispatcher, decided)
        env.process(looking.run())
    env.run(until=env.all_of([v.process for v in vehicles]))
    exceptions = tuple(sorted(seen.values(), key=lambda e: (e.at_s, e.cause)))
    results = tuple(v.result for v in vehicles)
    return DayResult(draws.run, day, results, exceptions, tuple(decided))


@dataclass
class _Monitor:
    """The dispatcher's monitor: every ``monitor_every_s``, :func:`detect`, and maybe a decision."""

    env: simpy.Environment
    vehicles: list[_Vehicle]
    day: date
    params: SimulationParameters
    timezone: str
    seen: dict[str, Seen]
    dispatcher: AutoDispatch | None
    decided: list[Decided]

    def state(self, shift_end: int) -> DayState:
        vans = [v.progress for v in self.vehicles]
        return day_state(self.day.isoformat(), vans, shift_end, self.timezone)

    def run(self) -> Generator[Any, Any, None]:
        vehicles = self.vehicles
        shift_end = max(v.route.end_s for v in vehicles) + self.params.shift_slack_s
        stops = {s.order_id: s for v in vehicles for s in v.route.stops}
        while any(v.busy for v in vehicles):
            yield self.env.timeout(self.params.monitor_every_s)
            now = round(self.env.now)
            state = self.state(shift_end)
            for found in detect(state, now):
                if found.cause in self.seen:
                    continue
                self.seen[found.cause] = Seen(
                    str(found.kind), found.cause, str(found.severity), now,
                    found.route_id, found.order_ids,
                )  # fmt: skip
                if self.dispatcher is None:
                    continue
                draft = self.dispatcher.choose(state, found, now)
                if draft is None:
                    continue
                served = {r.stop.order_id for v in vehicles for r in v.result.stops}
                moved, put_off = apply(draft, vehicles, stops, served)
                for van in vehicles:
                    van._sync()
                self.decided.append(Decided(found.cause, draft.kind, now, moved, put_off))
                state = self.state(shift_end)
