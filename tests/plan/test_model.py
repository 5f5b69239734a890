"""The library's Model builder: freezing, input checks, solving, reasons, evaluate()."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest

import doorstep
from doorstep import DomainError, InputError, Load, Model, Profile
from doorstep.network.straight_line import StraightLineProvider
from doorstep.plan.pipeline import PlanOptions, plan_orders

FAST = {"time_limit_s": 2.0, "max_iterations": 200, "seed": 1}

POINTS = [
    (60.1699, 24.9384),
    (60.1645, 24.9407),
    (60.1719, 24.9414),
    (60.1600, 24.9500),
    (60.1750, 24.9300),
    (60.1680, 24.9600),
]


def small_model(*, heavy: bool = False) -> Model:
    """Two vans at one Helsinki depot and six orders (plus one too heavy, if asked)."""
    m = Model()
    hub = m.add_depot(60.1662, 24.9528, id="HUB")
    for vid in ("VAN-2", "VAN-1"):
        m.add_vehicle(
            hub,
            id=vid,
            capacity=Load(10, 200_000, 1_000_000),
            shift=("08:00", "16:00"),
            costs=doorstep.Costs(fixed=5_000, per_km=35, per_hour=3_200),
        )
    for i, (lat, lon) in enumerate(POINTS):
        windows = [("09:00", "12:00")] if i % 2 else []
        m.add_order(lat, lon, id=f"O{6 - i}", windows=windows, service_s=240)
    if heavy:
        m.add_order(60.17, 24.94, id="HEAVY", demand=Load(1, 900_000, 0))
    return m


def test_add_methods_return_the_domain_objects() -> None:
    """add_depot / add_vehicle / add_order return the domain objects they built."""
    m = Model()
    depot = m.add_depot(60.1, 24.9)
    van = m.add_vehicle(depot, capacity=np.int64(12), shift=(np.int64(27_000), "15:00"))
    order = m.add_order(60.2, 24.8, windows=[("09:00", "10:00")], demand=2)
    assert isinstance(depot, doorstep.Depot) and depot.id == "depot-1"
    assert isinstance(van, doorstep.Vehicle) and van.depot_id == "depot-1"
    assert van.capacity.parcels == 12 and van.capacity.weight_g == doorstep.UNLIMITED
    assert van.shift == doorstep.TimeWindow(27_000, 54_000)
    assert isinstance(order, doorstep.Order) and order.windows[0].start == 32_400
    assert order.demand == Load(2, 0, 0)
    assert m.orders == (order,) and m.vehicles == (van,) and m.depots == (depot,)


def test_problem_is_frozen() -> None:
    """problem() gives an immutable Problem: frozen fields, read-only mappings and arrays."""
    m = small_model()
    problem = m.problem()
    durations = problem.durations[Profile.VAN]
    assert not durations.flags.writeable
    assert not problem.distances[Profile.VAN].flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        durations[0, 1] = 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        problem.orders = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        problem.durations[Profile.BIKE] = durations  # type: ignore[index]
    m.add_order(60.17, 24.95, id="LATER")
    assert "LATER" not in {o.id for o in problem.orders}
    assert problem.location_count == 7


def test_a_frozen_problem_can_be_pickled() -> None:
    """A frozen problem survives pickling (notebooks cache results with pickle/joblib)."""
    problem = small_model().problem()
    again = pickle.loads(pickle.dumps(problem))
    assert [o.id for o in again.orders] == [o.id for o in problem.orders]
    assert np.array_equal(again.durations[Profile.VAN], problem.durations[Profile.VAN])


def test_problem_takes_orders_and_vehicles_in_id_order() -> None:
    """The frozen problem lists orders and vehicles by id, as every door plans them."""
    problem = small_model().problem()
    assert [o.id for o in problem.orders] == ["O1", "O2", "O3", "O4", "O5", "O6"]
    assert [v.id for v in problem.fleet.vehicles] == ["VAN-1", "VAN-2"]


@pytest.mark.parametrize(
    ("build", "error", "words"),
    [
        (lambda m: m.add_order(60.2, 24.9, windows=[("12:00", "09:00")]), DomainError, "before"),
        (lambda m: m.add_order(60.2, 24.9, service_s=-5), DomainError, "service time"),
        (lambda m: m.add_order(60.2, 24.9, demand=-1), DomainError, "negative"),
        (lambda m: m.add_order(60.2, 24.9, windows=[("nine", "ten")]), DomainError, "not a time"),
        (lambda m: m.add_order(200.0, 24.9), DomainError, "WGS84"),
        (lambda m: m.add_order("north", 24.9), DomainError, "coordinates"),
        (lambda m: m.add_order(60.2, 24.9, id="A"), InputError, "already used"),
        (lambda m: m.add_order(60.2, 24.9, kind="parcel"), InputError, "kind"),
        (lambda m: m.add_vehicle("NOWHERE"), InputError, "not in the model"),
        (lambda m: m.add_vehicle("HUB", shift=("16:00", "08:00")), DomainError, "before"),
        (lambda m: m.add_vehicle("HUB", profile="rocket"), InputError, "profile"),
        (lambda m: m.add_vehicle("HUB", max_duration_s=0), DomainError, "positive"),
        (lambda m: m.add_lock("A", "NO-VAN"), InputError, "not in the model"),
    ],
)
def test_impossible_input_is_rejected(build: object, error: type[Exception], words: str) -> None:
    """Every add_* refuses impossible or dangling values with a clear message."""
    m = Model()
    m.add_depot(60.1662, 24.9528, id="HUB")
    m.add_order(60.17, 24.94, id="A")
    with pytest.raises(error, match=words):
        build(m)  # type: ignore[operator]
    assert [o.id for o in m.orders] == ["A"]


def test_a_model_without_vehicles_cannot_be_frozen() -> None:
    """problem() explains that the model needs a vehicle."""
    m = Model()
    m.add_depot(60.1, 24.9)
    with pytest.raises(InputError, match="no vehicle"):
        m.problem()


def test_bad_matrices_are_rejected() -> None:
    """set_matrices refuses non-square or negative matrices; problem() checks the size."""
    m = small_model()
    with pytest.raises(InputError, match="square"):
        m.set_matrices("van", np.zeros((3, 4)), np.zeros((3, 4)))
    with pytest.raises(InputError, match="negative"):
        m.set_matrices("van", -np.ones((7, 7)), np.ones((7, 7)))
    m.set_matrices("van", np.ones((3, 3)), np.ones((3, 3)))
    with pytest.raises(InputError, match="7 locations"):
        m.problem()
    m.set_matrices("van", np.ones((7, 7)), np.ones((7, 7)))
    with pytest.raises(InputError, match="own matrices"):
        m.problem(StraightLineProvider())
    m.add_vehicle("HUB", id="BIKE", profile="bike")
    with pytest.raises(InputError, match="profile bike"):
        m.problem()


def test_user_matrices_follow_the_order_things_were_added() -> None:
    """Matrix rows follow add order (depots, then orders) even though the problem sorts by id."""
    m = Model()
    m.add_depot(60.0, 24.0, id="Z-UNUSED")
    m.add_depot(60.1, 24.9, id="HUB")
    m.add_vehicle("HUB", id="V")
    m.add_order(60.2, 24.9, id="b")
    m.add_order(60.3, 24.9, id="a")
    durations = np.arange(16, dtype=float).reshape(4, 4)
    durations[1, 3] = np.inf
    m.set_matrices("van", durations, durations * 10)
    problem = m.problem()
    assert [o.id for o in problem.orders] == ["a", "b"]
    assert [d.id for d in problem.fleet.depots] == ["HUB"]
    # HUB is added row 1, "a" row 3, "b" row 2; the problem is HUB, a, b.
    van = problem.durations[Profile.VAN]
    assert van[0, 1] == doorstep.network.UNREACHABLE
    assert van[0, 2] == durations[1, 2]
    assert van[2, 1] == durations[2, 3]
    assert problem.distances[Profile.VAN][1, 2] == durations[3, 2] * 10
    assert problem.source == "user matrices"


def test_solves_a_tiny_instance_feasibly() -> None:
    """A small Helsinki model is planned feasibly with every order served."""
    result = small_model().solve(**FAST)
    assert isinstance(result, doorstep.Result)
    assert isinstance(result, doorstep.DayPlan)
    assert result.feasible and not result.violations and not result.unassigned
    assert result.kpis.served == 6
    served = sorted(o for stops in result.sequences().values() for o in stops)
    assert served == ["O1", "O2", "O3", "O4", "O5", "O6"]
    assert result.cost == result.kpis.cost > 0
    assert "6/6 orders" in result.summary()


def test_solves_with_user_matrices() -> None:
    """A model with its own matrices is planned on them, with no provider."""
    m = small_model()
    n = len(m.locations)
    durations = np.full((n, n), 600.0)
    np.fill_diagonal(durations, 0)
    m.set_matrices(Profile.VAN, durations, durations * 5)
    result = m.solve(**FAST)
    assert result.feasible and result.kpis.served == 6
    assert result.problem.source == "user matrices" and result.geometry == ()
    assert result.routes[0].visits[0].arrival_s - result.routes[0].start_s == 600


def test_solve_goes_through_the_pipeline() -> None:
    """Model.solve plans as plan_orders does for the same orders, fleet and provider."""
    m = small_model()
    provider = StraightLineProvider()
    result = m.solve(provider=provider, **FAST)
    fleet = doorstep.Fleet(m.depots, m.vehicles)
    options = PlanOptions(time_limit_s=2.0, max_iterations=200, seed=1)
    direct = plan_orders(m.orders, fleet, provider, options)
    assert result.sequences() == {
        r.vehicle_id: tuple(v.order_id for v in r.visits) for r in direct.evaluation.plan.routes
    }
    assert result.kpis == direct.evaluation.kpis


def test_an_order_too_heavy_for_every_van_is_left_out_with_a_reason() -> None:
    """The Result lists an unservable order with the reason code too_big."""
    result = small_model(heavy=True).solve(**FAST)
    assert result.feasible
    assert [(u.order_id, u.code) for u in result.unassigned] == [("HEAVY", "too_big")]
    assert "900 kg" in result.unassigned[0].reason
    assert result.kpis.served == 6 and result.kpis.unassigned == 1


def test_evaluate_checks_a_plan_given_as_ids() -> None:
    """doorstep.evaluate recomputes a hand-written plan, with violations and reasons."""
    m = small_model(heavy=True)
    problem = m.problem()
    good = doorstep.evaluate(problem, {"VAN-1": ["O1", "O2", "O3"], "VAN-2": ["O4", "O5", "O6"]})
    assert good.feasible and good.kpis.served == 6
    assert [(u.order_id, u.code) for u in good.plan.unassigned] == [("HEAVY", "too_big")]
    bad = doorstep.evaluate(problem, {"VAN-1": ["O1", "HEAVY"]})
    assert not bad.feasible and {v.code for v in bad.violations} == {"capacity"}
    with pytest.raises(InputError, match="NOPE"):
        doorstep.evaluate(problem, {"VAN-1": ["NOPE"]})
    with pytest.raises(InputError, match="VAN-9"):
        doorstep.evaluate(problem, {"VAN-9": ["O1"]})


def test_result_of_a_day_plan_keeps_everything() -> None:
    """Result.of turns a DayPlan into a Result with the same fields."""
    result = small_model().solve(**FAST)
    plain = doorstep.DayPlan(
        **{f.name: getattr(result, f.name) for f in dataclasses.fields(doorstep.DayPlan)}
    )
    again = doorstep.Result.of(plain)
    assert isinstance(again, doorstep.Result) and again.evaluation is result.evaluation
    assert doorstep.Result.of(result) is result
