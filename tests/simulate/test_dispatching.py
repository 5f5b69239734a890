"""A dispatcher accepting the playbooks' proposals on simulated days (simulate/dispatching.py)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date
from pathlib import Path

from doorstep.dispatch.playbooks import DispatchContext
from doorstep.domain.events import ScanKind
from doorstep.domain.location import Location
from doorstep.learn.risk import ConstantRisk
from doorstep.network.straight_line import StraightLineProvider
from doorstep.simulate.day import DayResult, simulate_day
from doorstep.simulate.dispatching import AutoDispatch
from doorstep.simulate.draws import Draws
from doorstep.simulate.params import NO_NOISE
from doorstep.simulate.plan_input import read_plan
from doorstep.simulate.record import day_events
from doorstep.simulate.runner import simulate

from .conftest import day_inputs, dispatcher

DAY = date(2030, 6, 4)
BROKEN = replace(NO_NOISE, breakdown_rate=0.4, repair_s=5 * 3600, monitor_every_s=300)
"""Long repairs: a broken van is out for the rest of its day."""


def _dispatcher() -> AutoDispatch:
    orders, fleet = day_inputs()
    ctx = DispatchContext(
        {o.id: o for o in orders}, fleet, StraightLineProvider(), time_limit_s=0.2, seed=1,
        max_iterations=20,
    )  # fmt: skip
    return AutoDispatch(ctx)


def _handed_over(plan_path: Path) -> tuple[int, DayResult]:
    """The first seed (and its day) on which a broken van's stops are handed over.

    Handed over: the first decision is a hand-over, and the other van serves a
    stop planned on the broken one (a hand-over to a full van puts them all off).
    """
    plan = read_plan(plan_path)
    planned_on = {s.order_id: route.vehicle_id for route in plan.routes for s in route.stops}
    for seed in range(1, 80):
        day = simulate_day(plan, DAY, Draws(seed, 1), BROKEN, ConstantRisk(0.0))
        if not any(e.kind == "vehicle_unavailable" for e in day.exceptions):
            continue
        helped = simulate_day(
            plan, DAY, Draws(seed, 1), BROKEN, ConstantRisk(0.0), dispatcher=_dispatcher()
        )
        first = helped.decisions[0] if helped.decisions else None
        if first is None or first.kind != "hand_over" or first.moved == 0:
            continue
        broken = next(e.route_id for e in helped.exceptions if e.kind == "vehicle_unavailable")
        if any(
            planned_on[r.stop.order_id] == broken
            for route in helped.routes
            if route.route.vehicle_id != broken
            for r in route.stops
        ):
            return seed, helped
    raise AssertionError("no seed hands a broken van's stops over")


def test_a_broken_vans_stops_are_handed_over_and_each_served_once(plan_path: Path) -> None:
    """The first proposal (hand_over) is accepted: the other van serves the stops left.

    Orders the re-plan could not fit are put off (not visited); none is served twice.
    """
    plan = read_plan(plan_path)
    seed, helped = _handed_over(plan_path)
    alone = simulate_day(plan, DAY, Draws(seed, 1), BROKEN, ConstantRisk(0.0))
    served = Counter(r.stop.order_id for route in helped.routes for r in route.stops)
    planned = {s.order_id for route in plan.routes for s in route.stops}
    put_off = sum(d.put_off for d in helped.decisions)
    assert set(served) <= planned and len(planned - set(served)) == put_off
    assert max(served.values()) == 1, "no stop may be served twice"
    broken = next(e.route_id for e in helped.exceptions if e.kind == "vehicle_unavailable")
    by_van = {r.route.vehicle_id: r for r in helped.routes}
    before = {r.route.vehicle_id: r for r in alone.routes}
    assert len(by_van[broken].stops) < len(before[broken].stops)
    taken = {r.stop.order_id for r in before[broken].stops} - {
        r.stop.order_id for r in by_van[broken].stops
    }
    other = next(r for v, r in by_van.items() if v != broken)
    assert taken & {r.stop.order_id for r in other.stops}, "the other van serves some of them"


def test_runs_with_a_dispatcher_count_what_was_accepted_and_are_deterministic(
    plan_path: Path,
) -> None:
    """Two simulations with the same seed and dispatcher agree; accepted counts are reported."""
    plan = read_plan(plan_path)
    params = replace(BROKEN, breakdown_rate=0.5)
    a = simulate(plan, 3, seed=4, day=DAY, params=params, dispatcher=_dispatcher())
    b = simulate(plan, 3, seed=4, day=DAY, params=params, dispatcher=_dispatcher())
    assert a.runs == b.runs
    assert all(run["accepted"] == sum(
        v for k, v in run.items() if k.startswith("accepted_")
    ) for run in a.runs)  # fmt: skip


RISKY = ConstantRisk(0.3)
"""Three customers in ten out: failed attempts for the dispatcher to retry."""


def test_a_failed_attempt_answered_by_retry_today_is_visited_again_later(
    plan_path: Path,
) -> None:
    """retry_today: the order gets a second visit (attempt 2) on its van after the first.

    Its parcel's scans show two attempts: arrived, failed_attempt, arrived, then the
    outcome of the second visit; a failed second visit is not retried a third time.
    """
    plan = read_plan(plan_path)
    day = simulate_day(plan, DAY, Draws(1, 1), NO_NOISE, RISKY, dispatcher=dispatcher())
    kinds = Counter(d.kind for d in day.decisions)
    assert kinds["retry_today"] > 0 and day.retried == kinds["retry_today"]
    for route in day.routes:
        visits: dict[str, list] = defaultdict(list)
        for done in route.stops:
            visits[done.stop.order_id].append(done)
        for order_id, tries in visits.items():
            assert [t.stop.attempt for t in tries] == list(range(1, len(tries) + 1))
            assert len(tries) <= 2, order_id
            if len(tries) == 2:
                first, second = tries
                assert not first.success and second.arrived_s > first.finished_s
    retried = next(d.stop.order_id for r in day.routes for d in r.stops if d.stop.attempt == 2)
    scans = [e.kind for e in day_events(day, "Europe/Helsinki") if e.parcel_id == f"{retried}-1"]
    tried = scans[scans.index(ScanKind.ARRIVED_AT_STOP) :]
    assert tried[:3] == [
        ScanKind.ARRIVED_AT_STOP,
        ScanKind.FAILED_ATTEMPT,
        ScanKind.ARRIVED_AT_STOP,
    ]
    assert scans.count(ScanKind.ARRIVED_AT_STOP) == 2
    assert tried[3] in (ScanKind.DELIVERED, ScanKind.FAILED_ATTEMPT)


def test_a_second_attempt_draws_presence_afresh_the_same_in_every_plan(
    plan_path: Path, other_plan_path: Path
) -> None:
    """The retry's presence is its own draw (key ``<order>#2``), equal across plans.

    With a constant risk, an order retried in both plans is found home (or not)
    in both: common random numbers hold for second attempts too.
    """
    outcome: list[dict[str, bool]] = []
    for path in (plan_path, other_plan_path):
        day = simulate_day(
            read_plan(path), DAY, Draws(1, 1), NO_NOISE, RISKY, dispatcher=dispatcher()
        )
        outcome.append(
            {d.stop.order_id: d.home for r in day.routes for d in r.stops if d.stop.attempt == 2}
        )
    both = set(outcome[0]) & set(outcome[1])
    assert both, "the seed must retry an order in both plans"
    assert all(outcome[0][i] == outcome[1][i] for i in both)
    assert any(outcome[0].values()), (
        "absent at the first visit, home at the second: a draw of its own"
    )


def test_retries_leave_first_attempt_success_unchanged_and_are_counted(plan_path: Path) -> None:
    """Same seed with and without retries: first-attempt success equal, deliveries up.

    Parcels delivered at the second visit are reported as ``delivered_on_retry``
    (and in ``parcels_delivered``), never as first-attempt successes.
    """
    plan = read_plan(plan_path)
    alone = simulate(plan, 2, seed=1, day=DAY, params=NO_NOISE, risk=RISKY)
    helped = simulate(
        plan, 2, seed=1, day=DAY, params=NO_NOISE, risk=RISKY, dispatcher=dispatcher()
    )
    assert sum(r["delivered_on_retry"] for r in helped.runs) > 0
    for a, b in zip(alone.runs, helped.runs, strict=True):
        assert a["retried"] == a["delivered_on_retry"] == 0
        assert b["first_attempt_success_rate"] == a["first_attempt_success_rate"]
        assert b["parcels_delivered"] == a["parcels_delivered"] + b["delivered_on_retry"]
        assert b["failed_attempts"] == a["failed_attempts"] + b["retried"] - b["delivered_on_retry"]
    assert helped.summary["delivered_on_retry"].n == 2


def test_runs_with_retries_are_deterministic_for_a_seed(plan_path: Path) -> None:
    """Two simulations of seed 3 with the dispatcher, noise and absences agree run by run."""
    plan = read_plan(plan_path)
    params = replace(BROKEN, travel_spread=0.15, service_spread=0.25, breakdown_rate=0.2)
    a = simulate(plan, 2, seed=3, day=DAY, params=params, risk=RISKY, dispatcher=dispatcher())
    b = simulate(plan, 2, seed=3, day=DAY, params=params, risk=RISKY, dispatcher=dispatcher())
    assert a.runs == b.runs
    assert sum(r["retried"] for r in a.runs) > 0


def _standby_day(one_van_plan_path: Path) -> DayResult:
    """The first seed on which the lone van breaks down and a standby van is sent (and runs)."""
    plan = read_plan(one_van_plan_path)
    for seed in range(1, 60):
        day = simulate_day(plan, DAY, Draws(seed, 1), BROKEN, ConstantRisk(0.0))
        if not any(e.kind == "vehicle_unavailable" for e in day.exceptions):
            continue
        helped = simulate_day(
            plan, DAY, Draws(seed, 1), BROKEN, ConstantRisk(0.0), dispatcher=dispatcher(2, 10)
        )
        sent = [r for r in helped.routes if r.route.standby and not r.breakdowns]
        if sent and any(d.kind == "standby_vehicle" for d in helped.decisions):
            return helped
    raise AssertionError("no seed sends the standby van (and does not break it down)")


def test_a_standby_van_starts_from_its_depot_and_drives_its_route(one_van_plan_path: Path) -> None:
    """standby_vehicle: V2 (no route in the plan) leaves its depot and serves the stops left.

    Each order is served once; V2's legs are the proposal's, driven as planned without
    noise; it comes home; it has no loading scans (its parcels came from V1).
    """
    day = _standby_day(one_van_plan_path)
    by_van = {r.route.vehicle_id: r for r in day.routes}
    assert set(by_van) == {"V1", "V2"}
    standby = by_van["V2"]
    assert standby.route.standby and standby.stops
    decision = next(d for d in day.decisions if d.kind == "standby_vehicle")
    assert standby.departure_s >= decision.at_s
    assert [s.arrived_s for s in standby.stops] == [
        s.stop.planned_arrival_s for s in standby.stops
    ], "no noise: each stop reached when the proposal planned it"
    assert standby.back_s == standby.route.end_s
    served = Counter(d.stop.order_id for r in day.routes for d in r.stops)
    assert max(served.values()) == 1
    assert len(served) + decision.put_off == 10
    scans = day_events(day, "Europe/Helsinki")
    assert not [e for e in scans if e.vehicle_id == "V2" and e.kind == ScanKind.LOADED]


def test_the_van_that_handed_its_stops_over_goes_home_by_the_routers_time(
    plan_path: Path,
) -> None:
    """After a hand-over the broken van drives back from where it is, not its planned leg.

    Its drive back starts at the last stop it reached, and takes the straight-line
    router's time from there to the depot (the plan's return leg starts elsewhere).
    """
    plan = read_plan(plan_path)
    _, helped = _handed_over(plan_path)
    broken = next(e.route_id for e in helped.exceptions if e.kind == "vehicle_unavailable")
    route = next(r for r in helped.routes if r.route.vehicle_id == broken)
    planned_last = route.route.stops[-1].order_id
    assert route.home_from != planned_last
    where = {s.order_id: s for r in plan.routes for s in r.stops}[route.home_from]
    _, fleet = day_inputs()
    depot = fleet.depots[0].location
    matrices = StraightLineProvider().matrices(
        [Location(where.lat, where.lon), depot], fleet.vehicles[0].profile
    )
    assert route.home_leg_s == int(matrices.durations[0, 1])
    assert route.home_leg_s != route.route.return_leg_s


def test_a_retry_as_asked_leaves_the_parcel_as_the_customer_asked(plan_path: Path) -> None:
    """Orders noted ``Safe place: ...``: retry_as_asked; nobody home the second time, left so.

    Every retried parcel is delivered at the second visit; the only parcels back
    at the depot are those of failures never retried (seen only once the van was
    on its way home).
    """
    orders, fleet = day_inputs()
    noted = {o.id: replace(o, notes="Safe place: porch") for o in orders}
    ctx = DispatchContext(
        noted, fleet, StraightLineProvider(), time_limit_s=0.2, seed=1, max_iterations=20
    )
    plan = read_plan(plan_path)
    day = simulate_day(
        plan, DAY, Draws(1, 1), NO_NOISE, ConstantRisk(0.6), dispatcher=AutoDispatch(ctx)
    )
    retries = [d for r in day.routes for d in r.stops if d.stop.attempt == 2]
    assert any(d.kind == "retry_as_asked" for d in day.decisions)
    assert retries and all(d.success for d in retries)
    assert any(d.left and not d.home for d in retries), "someone out the second time too"
    run = simulate(plan, 1, seed=1, day=DAY, params=NO_NOISE, risk=ConstantRisk(0.6),
                   dispatcher=AutoDispatch(ctx)).runs[0]  # fmt: skip
    assert run["delivered_on_retry"] == run["retried"] == len(retries)
    retried = {d.stop.order_id for d in retries}
    never_retried = [
        d for r in day.routes for d in r.stops
        if d.stop.attempt == 1 and not d.success and d.stop.order_id not in retried
    ]  # fmt: skip
    assert run["parcels_returned"] == sum(d.stop.parcels for d in never_retried)
