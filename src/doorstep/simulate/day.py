"""One simulated day: the plan's routes driven through SimPy, with noise, absences and breakdowns.

Each route is a SimPy process: it leaves the depot at the planned start,
drives each leg (planned time times the travel factor), waits for the window
to open, serves (or fails: nobody home), takes its break where the plan puts
it, and drives back. Each route also has a breakdown process that interrupts
the vehicle at the moments of a Poisson process; the vehicle stands still for
the repair time and then finishes what it was doing. A monitor process looks
at the day every ``monitor_every_s`` with the service's own exception detection
(:mod:`doorstep.simulate.monitor`), and a dispatcher
(:class:`~doorstep.simulate.dispatching.AutoDispatch`) may change the vans'
stops: hand them over, resequence them, visit a failed order again later the
same day (a second visit, with its own presence draw), or start a standby
vehicle as a new van from its depot. A leg that no longer starts where the
plan or the proposal started it (a van that lost its next stop, or comes home
from another last stop) takes the router's time. The model and its
parameters: :mod:`doorstep.simulate.params`; the random numbers:
:mod:`doorstep.simulate.draws`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import simpy

from doorstep.dispatch.day import DayState
from doorstep.dispatch.exceptions import DayException, detect
from doorstep.learn.risk import FailureRisk
from doorstep.simulate.dispatching import AutoDispatch, Decided, Point, apply
from doorstep.simulate.draws import Draws
from doorstep.simulate.monitor import Progress, Seen, day_state
from doorstep.simulate.params import SimulationParameters
from doorstep.simulate.plan_input import SimPlan, SimRoute, SimStop


@dataclass(slots=True)
class StopResult:
    """What happened at one visit of a stop (clock seconds of the day)."""

    stop: SimStop
    """The visit (``stop.attempt`` 2 for a same-day retry)."""
    arrived_s: int
    finished_s: int
    home: bool
    p_fail: float
    left: bool = False
    """Nobody home, and the parcel left as the customer asked (a retry as asked)."""

    @property
    def success(self) -> bool:
        """Delivered (or collected): somebody home, or the parcel left as asked."""
        return self.home or self.left


@dataclass(slots=True)
class RouteResult:
    """What happened on one route."""

    route: SimRoute
    departure_s: int
    back_s: int = 0
    breakdowns: int = 0
    stops: list[StopResult] = field(default_factory=list)
    home_from: str = ""
    """Where the drive back started: a visit key (or ``depot:<id>``)."""
    home_leg_s: int = 0
    """The drive back's time before noise: the plan's return leg from the planned last
    stop, else the router's time from where the van was."""


@dataclass(frozen=True, slots=True)
class DayResult:
    """One run: every route's result, and the exceptions the dispatcher's monitor saw."""

    run: int
    day: date
    routes: tuple[RouteResult, ...]
    exceptions: tuple[Seen, ...] = ()
    decisions: tuple[Decided, ...] = ()
    """Proposals the automatic dispatcher accepted (none without one)."""

    @property
    def retried(self) -> int:
        """Second (or later) visits made of an order the same day."""
        return sum(1 for r in self.routes for s in r.stops if s.stop.attempt > 1)

    @property
    def delivered_on_retry(self) -> int:
        """Parcels handed over (or collected) at a second (or later) visit the same day."""
        return sum(
            s.stop.parcels for r in self.routes for s in r.stops if s.stop.attempt > 1 and s.success
        )


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
        dispatcher: AutoDispatch | None = None,
    ) -> None:
        self.env = env
        self.route = route
        self.day = day
        self.draws = draws
        self.params = params
        self.risk = risk
        self.dispatcher = dispatcher
        """Gives the router's time of a leg the plan and the proposals did not plan."""
        self.where = f"depot:{route.depot_id}"
        """Where the van is (or last stopped): a visit key or ``depot:<id>``."""
        self.at: Point | None = None
        """That place's ``(lat, lon)`` (None: the depot)."""
        self.result = RouteResult(route, route.start_s)
        self.progress = Progress(route, list(route.stops))
        self.pending: list[SimStop] = list(route.stops)
        """Stops still to visit, in order (a proposal accepted on the day may change them)."""
        self.target: SimStop | None = None
        """The stop the van is driving to or serving now."""
        self.released: set[str] = set()
        """Visits handed to another van while this one was on its way to them."""
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
        return target is not None and target.visit_key in self.progress.arrived

    @property
    def position_key(self) -> str:
        """Where a re-plan starts the van: the stop it is at, its last stop, or its depot."""
        if self.target is not None and self.at_door:
            return self.target.visit_key
        done = self.result.stops
        return done[-1].stop.visit_key if done else f"depot:{self.route.depot_id}"

    def _sync(self) -> None:
        """The stops the monitor sees: done ones, the current one, then the pending ones."""
        done = [r.stop for r in self.result.stops]
        target = self.target
        now = [target] if target is not None and target.visit_key not in self.released else []
        self.progress.stops = [*done, *now, *self.pending]
        self.progress.version += 1

    def _leg(self, planned_s: int, key: str) -> Generator[Any, Any, None]:
        spread = self.params.leg_spread(self.env.now)
        factor = _lognormal(spread, self.draws.normal("leg", key))
        yield from self._work(planned_s * factor)

    def _planned(self, prev_key: str, planned_s: int, to: Point | None) -> int:
        """The leg's planned driving time from where the van is to ``to`` (None: its depot).

        ``planned_s`` when the leg starts where it was planned from
        (``prev_key``); otherwise the router's time (the dispatcher's), or
        ``planned_s`` without a dispatcher or a path.
        """
        if prev_key == self.where or self.dispatcher is None:
            return planned_s
        depot = self.dispatcher.depot(self.route.depot_id)
        origin = self.at if self.at is not None else depot
        to = to if to is not None else depot
        if origin is None or to is None:
            return planned_s
        seconds = self.dispatcher.travel(origin, to, self.vehicle_id)
        return planned_s if seconds is None else seconds

    def _drive_to(self, stop: SimStop) -> Generator[Any, Any, None]:
        """Drive to ``stop`` from where the van is."""
        planned = self._planned(stop.prev_key, stop.leg_s, (stop.lat, stop.lon))
        yield from self._leg(planned, f"{self.where}>{stop.visit_key}")
        self.where, self.at = stop.visit_key, (stop.lat, stop.lon)

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
            yield from self._drive_to(stop)
            visit = stop.visit_key
            if visit in self.released:
                self.target = None  # another van serves it now
                self._sync()
                continue
            arrived = self.env.now
            progress.arrived[visit] = round(arrived)
            progress.version += 1
            if stop.window_start_s is not None and self.env.now < stop.window_start_s:
                yield from self._work(stop.window_start_s - self.env.now)
            # Presence at the door: when service starts, after any wait for the window;
            # a second visit draws afresh (its own key), at its own time.
            when = datetime.combine(self.day, datetime.min.time()) + timedelta(seconds=self.env.now)
            p_fail = self.risk.p_fail(
                stop.customer_id, stop.zip, when, stop.weight_g, stop.volume_ml
            )
            home = self.draws.uniform("presence", visit) >= p_fail
            left = not home and stop.ask is not None and stop.kind == "delivery"
            factor = _lognormal(params.service_spread, self.draws.normal("service", visit))
            service = stop.service_s * factor
            share = 1.0 if home or left else params.failed_service_share
            yield from self._work(service * share)
            self.result.stops.append(
                StopResult(stop, round(arrived), round(self.env.now), home, p_fail, left)
            )
            progress.finished[visit] = round(self.env.now)
            if not (home or left):
                progress.failed.add(visit)
            self.target = None
            self._sync()
            served += 1
            if route.break_after == served:
                yield from self._work(route.break_s)
        # Home: the planned return leg from the planned last stop, else the router's time.
        home_key = f"depot:{route.depot_id}"
        last = route.stops[-1].visit_key if route.stops else home_key
        planned = self._planned(last, route.return_leg_s, None)
        self.result.home_from, self.result.home_leg_s = self.where, planned
        yield from self._leg(planned, f"{self.where}>{home_key}")
        self.where, self.at = home_key, None
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
    vehicles = [_Vehicle(env, route, day, draws, params, risk, dispatcher) for route in plan.routes]
    seen: dict[str, Seen] = {}
    decided: list[Decided] = []
    looking = None
    if params.monitor_every_s > 0:
        looking = _Monitor(
            env, vehicles, day, params, timezone, seen, dispatcher, decided, draws, risk
        )
        env.process(looking.run())
    driving = [v.process for v in vehicles]
    while driving:  # a standby van started on the day joins the list
        env.run(until=env.all_of(driving))
        driving = [v.process for v in vehicles if not v.process.processed]
    if looking is not None:  # what happened since the last look, seen once the vans are back
        looking.last_look()
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
    draws: Draws
    risk: FailureRisk

    def state(self, shift_end: int) -> DayState:
        vans = [v.progress for v in self.vehicles]
        return day_state(self.day.isoformat(), vans, shift_end, self.timezone)

    def shift_end(self) -> int:
        """When the day's monitoring ends: the last planned return plus the slack."""
        return max(v.route.end_s for v in self.vehicles) + self.params.shift_slack_s

    def record(self, found: DayException, now: int) -> bool:
        """Keep ``found`` as seen at ``now``; False when its cause was seen before."""
        if found.cause in self.seen:
            return False
        self.seen[found.cause] = Seen(
            str(found.kind), found.cause, str(found.severity), now, found.route_id, found.order_ids
        )
        return True

    def last_look(self) -> None:
        """The look after every van is back: exceptions since the last look are seen.

        No decision is taken on them: the day's driving is over (a failure at
        the last stop, minutes before the van's return, is still counted).
        """
        now = round(self.env.now)
        for found in detect(self.state(self.shift_end()), now):
            self.record(found, now)

    def run(self) -> Generator[Any, Any, None]:
        vehicles = self.vehicles
        shift_end = self.shift_end()
        stops = {s.order_id: s for v in vehicles for s in v.route.stops}
        while any(v.busy for v in vehicles):
            yield self.env.timeout(self.params.monitor_every_s)
            now = round(self.env.now)
            state = self.state(shift_end)
            for found in detect(state, now):
                if not self.record(found, now) or self.dispatcher is None:
                    continue
                draft = self.dispatcher.choose(state, found, now)
                if draft is None:
                    continue
                visits = Counter(r.stop.order_id for v in vehicles for r in v.result.stops)
                done = apply(draft, vehicles, stops, set(visits), visits)
                for vehicle_id, its_stops in done.standby.items():
                    route = self.dispatcher.standby_route(vehicle_id, its_stops)
                    van = _Vehicle(
                        self.env, route, self.day, self.draws, self.params, self.risk,
                        self.dispatcher,
                    )  # fmt: skip
                    vehicles.append(van)  # a standby vehicle sent out: a new van
                for van in vehicles:
                    van._sync()
                self.decided.append(Decided(found.cause, draft.kind, now, done.moved, done.put_off))
                state = self.state(shift_end)
