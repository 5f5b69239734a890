"""The PyVRP backend's mapping: load dimensions and fleet minimisation."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pytest import MonkeyPatch
from pyvrp import PenaltyManager, PenaltyParams

import doorstep.plan.backends.pyvrp as pyvrp_backend
from doorstep.domain import Load, TimeWindow
from doorstep.domain.fleet import Break, Costs
from doorstep.io.instances import read_instance
from doorstep.plan.backends.pyvrp import (
    PyVrpSolver,
    _fleet_can_shrink,
    _fleet_lower_bound,
    _minimise_fleet,
    _Stop,
    build_model,
    construct,
    fits_budget,
    greedy_start,
    load_dimensions,
    solve_params,
)
from doorstep.plan.benchmark import problem_from_instance
from doorstep.plan.evaluator import evaluate
from doorstep.plan.problem import Objective, Problem
from doorstep.plan.reasons import explain
from doorstep.plan.solver import Deadline, Progress, SolveRequest, SolveSettings
from plan_problems import H, M, order, problem, van

DATA = Path(__file__).parents[2] / "data"


def test_only_the_load_dimensions_orders_use_reach_pyvrp() -> None:
    """Parcels-only orders plan in one dimension; weight joins when an order has one."""
    parcels_only = [replace(order(f"o{i}", i, 1), demand=Load(parcels=2)) for i in range(3)]
    day = problem(parcels_only, [van("A", parcels=5)])
    model = build_model(day)
    assert load_dimensions(day) == (0,)
    assert model.data.num_load_dimensions == 1
    assert model.data.vehicle_type(0).capacity == [5]
    assert [c.delivery for c in model.data.clients()] == [[2], [2], [2]]

    heavy = [*parcels_only, replace(order("w", 2, 2), demand=Load(1, 3000, 0))]
    day = problem(heavy, [van("A", parcels=5)])
    assert load_dimensions(day) == (0, 1)
    assert build_model(day).data.vehicle_type(0).capacity == [5, 5000]


def test_a_day_without_any_demand_keeps_one_dimension() -> None:
    """Orders with no demand at all still give PyVRP one (empty) load dimension."""
    day = problem([replace(order("a", 1, 1), demand=Load())], [van("A")])
    assert load_dimensions(day) == (0,)
    assert build_model(day).data.num_load_dimensions == 1


def _c101(objective: Objective) -> Problem:
    return problem_from_instance(read_instance(DATA / "C101.txt"), objective)


def test_the_vehicles_objective_first_removes_vehicles_while_a_plan_stays_feasible() -> None:
    """Fleet minimisation leaves C101's 25 vehicles at a feasible smaller fleet."""
    day = _c101(Objective.VEHICLES)
    model = build_model(day)
    assert _fleet_can_shrink(day, model)
    data, plan = _minimise_fleet(model.data, _Stop(float("inf"), 3000, None), seed=1, dims=1)
    assert plan is not None and plan.is_feasible() and plan.is_complete()
    assert data.vehicle_type(0).num_available == plan.num_routes() < 25
    assert plan.num_routes() >= _fleet_lower_bound(model.data, 1) == 10  # 1810 parcels / 200


@pytest.mark.parametrize("fleet_search", [True, False])
def test_the_fleet_phase_runs_only_when_the_settings_allow_it(
    monkeypatch: MonkeyPatch, fleet_search: bool
) -> None:
    """``SolveSettings.fleet_search=False``: one search over every vehicle, no fleet phase."""
    calls: list[int] = []
    real = pyvrp_backend._minimise_fleet

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pyvrp_backend, "_minimise_fleet", recording)
    day = _c101(Objective.VEHICLES)
    settings = SolveSettings(time_limit_s=10, seed=1, max_iterations=300, fleet_search=fleet_search)
    assignment = PyVrpSolver().solve(day, settings)
    assert bool(calls) is fleet_search
    assert evaluate(day, assignment).feasible
    assert len({i for r in assignment.routes for i in r.orders}) == len(day.orders)


def test_fleet_minimisation_only_applies_to_one_vehicle_type_with_every_order_required() -> None:
    """Distance objective, optional orders or a mixed fleet keep the fleet as given."""
    assert not _fleet_can_shrink(_c101(Objective.DISTANCE), build_model(_c101(Objective.DISTANCE)))
    optional = problem([order("a", 1, 1)], [van("A")], objective=Objective.VEHICLES)
    assert not _fleet_can_shrink(optional, build_model(optional))
    mixed = replace(_c101(Objective.VEHICLES), all_required=True)
    vehicles = mixed.fleet.vehicles
    mixed = replace(
        mixed,
        fleet=replace(
            mixed.fleet,
            vehicles=(replace(vehicles[0], capacity=Load(100)), *vehicles[1:]),
        ),
    )
    assert not _fleet_can_shrink(mixed, build_model(mixed))


def test_a_raised_penalty_cap_keeps_pyvrps_starting_penalties() -> None:
    """Vehicles first lifts the cap above the fixed cost; penalties still start at PyVRP's."""
    data = build_model(_c101(Objective.VEHICLES)).data
    usual = PenaltyParams()
    raised = solve_params(data).penalty
    assert raised.max_penalty >= 2 * data.vehicle_type(0).fixed_cost > usual.max_penalty
    start = PenaltyManager(raised.midpoint_penalties(data), raised).penalties()
    assert start == PenaltyManager(usual.midpoint_penalties(data), usual).penalties()
    assert start[1] < usual.max_penalty


def test_small_costs_keep_pyvrps_penalty_parameters() -> None:
    """With no fixed cost or prize above PyVRP's cap, its default parameters are used."""
    data = build_model(_c101(Objective.DISTANCE)).data
    assert solve_params(data).penalty == PenaltyParams()


def test_a_vehicles_objective_solve_is_deterministic_and_feasible() -> None:
    """With an iteration budget the two-phase search gives the same plan twice."""
    day = _c101(Objective.VEHICLES)
    settings = SolveSettings(time_limit_s=600, seed=3, max_iterations=1500)
    first = PyVrpSolver().solve(day, settings)
    again = PyVrpSolver().solve(day, settings)
    assert first.routes == again.routes
    assert evaluate(day, first).feasible
    assert len(first.routes) <= 12


def test_fixed_costs_never_buy_an_overloaded_van() -> None:
    """Two 30-parcel orders and two 50-parcel vans at 50 fixed: two routes, no overload."""
    orders = [replace(order(f"o{i}", i + 1, 1), demand=Load(30)) for i in range(2)]
    vans = [van(v, parcels=50, costs=Costs(fixed=5000)) for v in "AB"]
    day = problem(orders, vans)
    plan = PyVrpSolver().solve(day, SolveSettings(time_limit_s=5, seed=0, max_iterations=3000))
    evaluation = evaluate(day, plan)
    assert evaluation.feasible, [v.message for v in evaluation.violations]
    assert evaluation.kpis.served == 2 and evaluation.kpis.vehicles_used == 2


def test_an_order_bigger_than_every_vehicle_is_left_out() -> None:
    """No van can carry 80 parcels: the order is not planned (and explained as too_big)."""
    orders = [replace(order("big", 1, 1), demand=Load(80)), order("small", 2, 1)]
    day = problem(orders, [van("A", parcels=50)])
    plan = PyVrpSolver().solve(day, SolveSettings(time_limit_s=5, seed=0, max_iterations=500))
    evaluation = evaluate(day, plan, explain(day, plan))
    assert evaluation.feasible
    assert [(u.order_id, u.code) for u in evaluation.plan.unassigned] == [("big", "too_big")]


def recorded_caps(monkeypatch: MonkeyPatch) -> list[float]:
    """The penalty cap of every cost evaluator PenaltyManager hands out, in order."""
    caps: list[float] = []
    original = PenaltyManager.max_cost_evaluator

    def recording(self: PenaltyManager) -> object:
        caps.append(self._params.max_penalty)
        return original(self)

    monkeypatch.setattr(PenaltyManager, "max_cost_evaluator", recording)
    return caps


def test_the_start_is_built_at_pyvrps_default_penalty_cap(monkeypatch: MonkeyPatch) -> None:
    """The first local search runs at PyVRP's default cap, not at the raised one.

    At the raised cap (4e8 on a Helsinki day) that search ran 683 s on 1,000
    orders before the clock was first looked at.
    """
    caps = recorded_caps(monkeypatch)
    orders = [order(f"o{i}", i % 5 + 1, i // 5) for i in range(12)]
    day = problem(orders, [van(v, costs=Costs(fixed=5000)) for v in "AB"])
    assert solve_params(build_model(day).data).penalty.max_penalty > PenaltyParams().max_penalty
    PyVrpSolver().solve(day, SolveSettings(time_limit_s=5, seed=0, max_iterations=50))
    assert caps[0] == PenaltyParams().max_penalty


def test_a_passed_deadline_keeps_the_first_start() -> None:
    """Past the deadline, the construction skips its second local search at the raised cap."""
    orders = [replace(order(f"o{i}", i + 1, 1), demand=Load(30)) for i in range(2)]
    day = problem(orders, [van(v, parcels=50, costs=Costs(fixed=5000)) for v in "AB"])
    data = build_model(day).data
    assert construct(data, 0).is_feasible()
    passed = Deadline(0.0)
    passed.stop()
    assert not construct(data, 0, passed).is_feasible()  # one overloaded van: cheaper at 1e5


def test_a_late_start_skips_the_second_local_search(monkeypatch: MonkeyPatch) -> None:
    """A start with time warp is returned for the search to mend: no local search at the raised cap.

    On a 1,029-order part of a 10,000-order day that second search had not ended
    after 10 minutes; an overloaded van alone (no lateness) still gets it (above).
    """
    caps = recorded_caps(monkeypatch)
    window = [(8 * H, 8 * H + 20 * M)]
    orders = [order(f"o{i}", 3 * (i % 4) + 2, 3 * (i // 4), windows=window) for i in range(12)]
    day = problem(orders, [van(v, shift=(8 * H, 10 * H), costs=Costs(fixed=5000)) for v in "AB"])
    data = build_model(day).data
    assert solve_params(data).penalty.max_penalty > PenaltyParams().max_penalty
    start = construct(data, 0)
    assert start.time_warp() > 0 and not start.is_feasible()
    assert caps == [PenaltyParams().max_penalty]


def test_an_interrupt_from_the_progress_callback_keeps_the_best_plan() -> None:
    """A KeyboardInterrupt raised by the progress callback stops the search with its plan."""
    orders = [order(f"o{i}", i % 5 + 1, i // 5) for i in range(20)]
    day = problem(orders, [van("A"), van("B")])
    reports: list[Progress] = []

    def progress(report: Progress) -> None:
        reports.append(report)
        raise KeyboardInterrupt

    plan = PyVrpSolver().solve(day, SolveSettings(time_limit_s=30, seed=0), progress)
    assert reports
    assert sum(len(r.orders) for r in plan.routes) == 20


def test_when_time_is_up_before_the_search_the_start_is_the_plan() -> None:
    """With the deadline already passed the backend returns its start, every order on it."""
    orders = [order(f"o{i}", i % 5 + 1, i // 5) for i in range(20)]
    day = problem(orders, [van("A"), van("B")])
    request = SolveRequest(day, SolveSettings(time_limit_s=30, seed=0))
    request.deadline.stop()
    routes, _ = PyVrpSolver().plan(request)
    assert sum(len(r.orders) for r in routes) == 20


def _ticking(passes_after: int) -> Deadline:
    """A deadline on a fake clock that passes after ``passes_after`` readings."""
    readings = iter(range(10**6))
    return Deadline(at=passes_after, clock=lambda: float(next(readings)))


def _twenty(windows: bool = False) -> Problem:
    orders = [
        order(f"o{i}", i % 5 + 1, i // 5, windows=[(9 * 3600, 17 * 3600)] if windows else ())
        for i in range(20)
    ]
    return problem(orders, [van("A", parcels=8), van("B", parcels=8), van("C", parcels=8)])


def test_the_greedy_start_keeps_capacity_windows_and_shifts() -> None:
    """Every route of the greedy start is free of excess load and time warp."""
    data = build_model(_twenty(windows=True)).data
    start = greedy_start(data)
    assert start.num_routes() == 3
    assert start.num_clients() == 20
    assert all(not r.has_excess_load() and not r.has_time_warp() for r in start.routes())


def test_the_greedy_start_stops_when_the_deadline_passes() -> None:
    """Past the deadline the greedy start returns the stops placed so far."""
    data = build_model(_twenty()).data
    start = greedy_start(data, _ticking(4))
    assert 0 < start.num_clients() < 20


def test_a_construction_over_budget_never_runs_one_exhaustive_search_on_the_whole_day(
    monkeypatch: MonkeyPatch,
) -> None:
    """Over its budget, the construction searches parts no bigger than PART_CLIENTS."""
    sizes: list[int] = []
    original = pyvrp_backend.LocalSearch.__call__

    def recording(
        self: object, solution: object, evaluator: object, exhaustive: bool = False
    ) -> object:
        sizes.append(solution.num_clients())  # type: ignore[attr-defined]
        return original(self, solution, evaluator, exhaustive)  # type: ignore[arg-type]

    monkeypatch.setattr(pyvrp_backend.LocalSearch, "__call__", recording)
    monkeypatch.setattr(pyvrp_backend, "PART_CLIENTS", 6)
    data = build_model(_twenty()).data
    assert not fits_budget(data, 0.0)
    start = construct(data, 0, None, budget_s=0.0)
    assert start.num_clients() == 20
    assert len(sizes) >= 2 and max(sizes) <= 6 + 8
    sizes.clear()
    construct(data, 0, _ticking(30), budget_s=0.0)  # the clock passes on the way: fewer parts
    assert len(sizes) < 3


def test_a_search_over_budget_skips_the_exhaustive_search_on_each_new_best() -> None:
    """Without the time for it, PyVRP's exhaustive search on new bests is switched off."""
    data = build_model(_twenty()).data
    assert solve_params(data).ils.exhaustive_on_best
    assert not solve_params(data, exhaustive=False).ils.exhaustive_on_best
    assert fits_budget(data, None) and fits_budget(data, 1.0)


# Breaks planned inside the search (PyVrpSolver(breaks="search")).

LUNCH = Break(TimeWindow(10 * H, 11 * H), 30 * M)
LATE_LUNCH = Break(TimeWindow(12 * H, 13 * H), 20 * M)


def _lunch_day(objective: Objective = Objective.COST) -> Problem:
    orders = [order(f"o{i}", i % 4 + 1, i // 4, service_min=20) for i in range(12)]
    vans = [van("A", break_=LUNCH), van("B", break_=LATE_LUNCH), van("C"), van("D", break_=LUNCH)]
    return problem(orders, vans, objective=objective)


def test_breaks_in_search_give_each_vehicle_with_a_break_one_break_stop() -> None:
    """One optional break stop per vehicle with a break, in its kind's load dimension.

    Windowed so the break ends in its window; shifts are not shortened; vehicles
    without a break have no room for one.
    """
    day = _lunch_day()
    model = build_model(day, breaks_in_search=True)
    data = model.data
    breaks = [c for k, c in enumerate(data.clients()) if model.is_break(k)]
    assert len(breaks) == 3 and model.order_dims == len(load_dimensions(day))
    assert data.num_load_dimensions == model.order_dims + 2  # the orders', one per break kind
    assert sorted((c.tw_early, c.tw_late, c.service_duration) for c in breaks) == [
        (10 * H, 10 * H + 30 * M, 30 * M),
        (10 * H, 10 * H + 30 * M, 30 * M),
        (12 * H, 12 * H + 40 * M, 20 * M),
    ]
    assert not any(c.required for c in breaks) and all(c.prize > 0 for c in breaks)
    here = breaks[0].location
    for profile in range(data.num_profiles):
        assert not np.asarray(data.distance_matrix(profile))[here].any()
        assert not np.asarray(data.duration_matrix(profile))[:, here].any()
    rooms = {
        day.fleet.vehicles[v].id: list(data.vehicle_type(t).capacity[model.order_dims :])
        for t, vs in enumerate(model.vehicles_of_type)
        for v in vs
    }
    assert rooms["A"] == rooms["D"] == [1, 0] and rooms["B"] == [0, 1] and rooms["C"] == [0, 0]
    by_name = {vt.name: vt for vt in data.vehicle_types()}
    after = {vt.name: vt for vt in build_model(day).data.vehicle_types()}
    assert by_name["A"].tw_late == after["A"].tw_late + 30 * M  # the full shift


def test_a_break_stop_becomes_the_routes_break_and_the_evaluator_accepts_it() -> None:
    """PyVRP's own break positions reach the routes.

    The plan is feasible and every break lies in its window.
    """
    day = _lunch_day()
    model = build_model(day, breaks_in_search=True)
    best = pyvrp_backend._search(
        day, model, _Stop(float("inf"), 2000, None), None, SolveSettings(seed=1)
    )
    routes = pyvrp_backend._routes(best, model)
    with_break = [r for r in routes if day.fleet.vehicles[r.vehicle].break_ is not None]
    assert with_break and all(r.break_after is not None for r in with_break)
    assert all(r.break_after is None for r in routes if r not in with_break)
    assignment = PyVrpSolver(breaks="search").solve(day, SolveSettings(time_limit_s=2, seed=1))
    e = evaluate(day, assignment, explain(day, assignment))
    assert e.feasible and e.kpis.served == 12, [v.message for v in e.violations]
    for route in e.plan.routes:
        brk = next(v.break_ for v in day.fleet.vehicles if v.id == route.vehicle_id)
        if brk is not None and route.break_start_s is not None:
            assert brk.window.start <= route.break_start_s <= brk.window.end - brk.duration_s


def test_no_vehicle_is_taken_out_for_its_break_alone() -> None:
    """A break stop is worth less than a vehicle's fixed cost: one order, one route."""
    day = problem([order("a", 1, 1)], [van("A", break_=LUNCH), van("B", break_=LUNCH)])
    model = build_model(day, breaks_in_search=True)
    fixed = {vt.fixed_cost for vt in model.data.vehicle_types()}
    prizes = {c.prize for k, c in enumerate(model.data.clients()) if model.is_break(k)}
    assert fixed and max(prizes) < min(fixed)
    assignment = PyVrpSolver(breaks="search").solve(day, SolveSettings(time_limit_s=1, seed=1))
    assert len([r for r in assignment.routes if r.orders]) == 1


def test_breaks_in_search_keep_the_fleet_minimisation() -> None:
    """Vehicles first with breaks: break stops do not stop the fleet shrinking.

    Nor do they count in the fleet's capacity bound.
    """
    c101 = _c101(Objective.VEHICLES)
    pause = Break(TimeWindow(400, 700), 30)  # inside C101's horizon (0-1236)
    vehicles = tuple(replace(v, break_=pause) for v in c101.fleet.vehicles)
    day = replace(c101, fleet=replace(c101.fleet, vehicles=vehicles))
    model = build_model(day, breaks_in_search=True)
    assert _fleet_can_shrink(day, model)
    assert _fleet_lower_bound(model.data, model.order_dims) == 10


def test_an_unknown_break_mode_is_refused() -> None:
    """Only ``after`` and ``search`` are break modes."""
    with pytest.raises(ValueError, match="breaks must be one of"):
        PyVrpSolver(breaks="later")  # type: ignore[arg-type]
