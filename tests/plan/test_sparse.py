"""A day too big for its square: the depot's travel held, every other pair asked from the roads."""

from __future__ import annotations

import pickle
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from doorstep.domain.fleet import Profile
from doorstep.domain.location import Location
from doorstep.domain.order import OrderKind
from doorstep.network.provider import UNREACHABLE, Matrices, Table
from doorstep.network.straight_line import StraightLineProvider
from doorstep.plan.block_matrix import BlockMatrix
from doorstep.plan.decompose import DecomposeSolver, territories
from doorstep.plan.evaluator import evaluate
from doorstep.plan.parallel import SerialRunner
from doorstep.plan.pipeline import build_problem
from doorstep.plan.problem import Problem
from doorstep.plan.reasons import explain
from doorstep.plan.registry import choose_backend, holds_sparse
from doorstep.plan.solver import Assignment, RouteAssignment, SolveSettings
from doorstep.plan.sparse import PAIR_CHUNK, build_sparse_problem
from plan_problems import order, problem, van


class AskedProvider(StraightLineProvider):
    """Straight-line travel that records every table and square it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[int, int]] = []
        self.squares: list[int] = []

    def matrices(self, locations: Sequence[Location], profile: Profile) -> Matrices:
        self.squares.append(len(locations))
        return super().matrices(locations, profile)

    def table(
        self, sources: Sequence[Location], targets: Sequence[Location], profile: Profile
    ) -> Table:
        self.tables.append((len(sources), len(targets)))
        return super().table(sources, targets, profile)

    def cells(self) -> int:
        """Pairs asked through tables so far."""
        return sum(s * t for s, t in self.tables)


def scattered_day(count: int = 120, vans: int = 4, seed: int = 3) -> Problem:
    """``count`` one-parcel orders scattered over 16 km around one depot."""
    rng = random.Random(seed)
    orders = [
        order(f"o{k:03d}", rng.uniform(-8, 8), rng.uniform(-8, 8), service_min=2)
        for k in range(count)
    ]
    return problem(orders, [van(f"V{k}", parcels=60) for k in range(vans)])


def sparse_and_dense(p: Problem) -> tuple[Problem, Problem, AskedProvider]:
    """The day built sparse (with its provider, to count) and dense, on the same roads."""
    provider = AskedProvider()
    sparse = build_sparse_problem(p.orders, p.fleet, provider, chunk=50)
    dense = build_problem(p.orders, p.fleet, StraightLineProvider())
    return sparse, dense, provider


def test_every_pair_reads_as_in_the_dense_build_without_asking_for_the_square() -> None:
    """Held or asked, each pair equals the dense build's; building asked for the depot's strips.

    The matrices hold the depot's row and column only; no question asks for the whole day.
    """
    sparse, dense, provider = sparse_and_dense(scattered_day(60))
    n = sparse.location_count
    assert max(s * t for s, t in provider.tables) < n  # the depot's strips, in chunks
    held = sparse.durations[Profile.VAN]
    assert isinstance(held, BlockMatrix) and held.nbytes == 2 * n * 8
    full = dense.durations[Profile.VAN]
    rng = np.random.default_rng(0)
    rows, cols = rng.integers(0, n, 300), rng.integers(0, n, 300)
    assert np.array_equal(held[rows, cols], full[rows, cols])
    assert [held.item(int(i), int(j)) for i, j in zip(rows[:50], cols[:50], strict=True)] == [
        int(full[i, j]) for i, j in zip(rows[:50], cols[:50], strict=True)
    ]
    part = np.array([0, 5, 9, 33, 47])
    assert np.array_equal(held[np.ix_(part, part)], full[np.ix_(part, part)])
    assert np.array_equal(sparse.distances[Profile.VAN][7], dense.distances[Profile.VAN][7])
    assert np.array_equal(np.asarray(held), full)


def test_pairs_are_asked_once_and_durations_bring_their_distances() -> None:
    """Reading legs again, or their distances after their durations, asks nothing more.

    Legs are asked a chunk of pairs per table, not one table per leg.
    """
    sparse, _, provider = sparse_and_dense(scattered_day(120))
    before = len(provider.tables)
    legs = np.arange(1, 120)
    sparse.durations[Profile.VAN][legs, legs + 1]
    asked = len(provider.tables) - before
    assert asked == -(-len(legs) // PAIR_CHUNK)
    sparse.distances[Profile.VAN][legs, legs + 1]
    sparse.durations[Profile.VAN][legs, legs + 1]
    assert [sparse.durations[Profile.VAN].item(int(i), int(i) + 1) for i in legs[:5]]
    assert len(provider.tables) - before == asked


def test_evaluating_a_plan_asks_for_its_legs_in_a_few_tables() -> None:
    """The evaluator reads a plan's legs ahead, so a plan of 120 stops costs one table."""
    sparse, dense, provider = sparse_and_dense(scattered_day(120))
    routes = (RouteAssignment(0, tuple(range(0, 60))), RouteAssignment(1, tuple(range(60, 120))))
    before = len(provider.tables)
    got = evaluate(sparse, Assignment(routes, "hand"))
    assert len(provider.tables) - before == 1
    want = evaluate(dense, Assignment(routes, "hand"))
    assert got.kpis == want.kpis and got.violations == want.violations


def test_a_part_cut_from_the_day_asks_for_its_square_only() -> None:
    """Restricting to 30 orders asks one 30 x 30 table; the part is dense and travels alone."""
    from doorstep.plan.subproblem import restrict

    sparse, dense, provider = sparse_and_dense(scattered_day(120))
    before = len(provider.tables)
    orders = list(range(10, 40))
    part = restrict(sparse, orders, [0, 1])
    assert provider.tables[before:] == [(30, 30)]
    assert part.problem.dense
    want = restrict(dense, orders, [0, 1])
    for p in (Profile.VAN,):
        assert np.array_equal(part.problem.durations[p], want.problem.durations[p])
        assert np.array_equal(part.problem.distances[p], want.problem.distances[p])


def test_an_off_network_order_is_reported_as_by_the_dense_build() -> None:
    """An order the roads cannot reach is off the network in both builds, unreachable in both."""
    p = scattered_day(20)
    far = order("zz-far", 0, 0)
    p = problem([*p.orders, far], list(p.fleet.vehicles))

    class FarOff(AskedProvider):
        """The last order's point lies far from every road."""

        def table(
            self, sources: Sequence[Location], targets: Sequence[Location], profile: Profile
        ) -> Table:
            t = super().table(sources, targets, profile)
            off_s = tuple(k for k, s in enumerate(sources) if s == far.location)
            off_t = tuple(k for k, s in enumerate(targets) if s == far.location)
            d, m = t.durations.copy(), t.distances.copy()
            for k in off_s:
                d[k, :] = m[k, :] = UNREACHABLE
            for k in off_t:
                d[:, k] = m[:, k] = UNREACHABLE
            return Table(d, m, t.source, off_sources=off_s, off_targets=off_t)

    sparse = build_sparse_problem(p.orders, p.fleet, FarOff())
    index = 1 + len(p.orders) - 1
    assert sparse.off_network == frozenset({index})
    assert sparse.durations[Profile.VAN][3, index] == UNREACHABLE
    assert sparse.durations[Profile.VAN][index, index] == 0


def test_a_copy_in_another_process_reads_unasked_pairs_as_unreachable() -> None:
    """The road source stays home: a pickled copy holds the strips and reads the rest as unknown."""
    sparse, dense, _ = sparse_and_dense(scattered_day(20))
    copy = pickle.loads(pickle.dumps(sparse.durations[Profile.VAN]))
    assert copy.source is None
    assert copy[0, 7] == dense.durations[Profile.VAN][0, 7]
    assert copy[5, 7] == UNREACHABLE


def test_territories_cover_the_day_keep_pairs_and_deal_every_vehicle() -> None:
    """Every order in one territory, a delivery with its pickup, every vehicle dealt once.

    Alike territories (orders scattered evenly) get vehicles in proportion to their orders.
    """
    p = scattered_day(200, vans=10)
    pickup = order("p", 7, 7, kind=OrderKind.PICKUP)
    delivery = order("q", -7, -7, paired_pickup="p")
    p = problem([*p.orders, pickup, delivery], list(p.fleet.vehicles))
    groups = territories(p, 50)
    seen = sorted(i for g in groups for i in g.extra)
    assert seen == list(range(len(p.orders)))
    home = {i: k for k, g in enumerate(groups) for i in g.extra}
    assert home[len(p.orders) - 2] == home[len(p.orders) - 1]
    assert all(len(g.extra) <= 1.5 * 50 + 1 for g in groups) and len(groups) == 4
    assert sorted(v for g in groups for v in g.spare) == list(range(10))
    for g in groups:
        share = len(g.extra) / len(p.orders) * 10
        assert abs(len(g.spare) - share) < 2


def test_a_far_territory_gets_more_vans_per_order_than_a_near_one() -> None:
    """Two clusters of 40 orders, one by the depot and one 30 km out: the far one needs more.

    Its vans spend an hour each way, so each gives it less of its shift.
    """
    rng = random.Random(1)
    near = [
        order(f"n{k}", rng.uniform(-1, 1), rng.uniform(-1, 1), service_min=20) for k in range(40)
    ]
    far = [
        order(f"f{k}", 30 + rng.uniform(-1, 1), rng.uniform(-1, 1), service_min=20)
        for k in range(40)
    ]
    p = problem([*near, *far], [van(f"V{k}") for k in range(10)])
    groups = territories(p, 40)
    vans = {p.orders[g.extra[0]].id[0]: len(g.spare) for g in groups}
    assert len(groups) == 2 and vans["f"] > vans["n"] and vans["f"] + vans["n"] == 10


def test_the_decomposition_plans_a_sparse_day_by_territory_without_its_square(
    monkeypatch: Any,
) -> None:
    """Feasible, every order served, about as good as on the dense build; never the square.

    The first plan is made by territory; the biggest question asked is a territory's
    or a part's (legs are asked 16 pairs at a time here, so they stay small too).
    """
    import doorstep.plan.sparse as sparse_module

    monkeypatch.setattr(sparse_module, "PAIR_CHUNK", 16)
    sparse, dense, provider = sparse_and_dense(scattered_day(160, vans=6))
    n = sparse.location_count
    settings = SolveSettings(time_limit_s=4.0, seed=1)
    solver = DecomposeSolver(
        runner=SerialRunner(), min_orders=50, target_size=40, territory_size=60
    )
    got = solver.solve(sparse, settings)
    e = evaluate(sparse, got, explain(sparse, got))
    assert e.feasible, [v.message for v in e.violations]
    assert e.kpis.served == 160
    assert max(s * t for s, t in provider.tables) < (n - 1) ** 2 / 2
    whole = DecomposeSolver(runner=SerialRunner(), min_orders=50, target_size=40)
    want = evaluate(dense, whole.solve(dense, settings))
    assert e.kpis.cost <= 1.15 * want.kpis.cost
    # the same routes read the same on both builds
    assert evaluate(dense, got).kpis == e.kpis


def test_the_automatic_choice_holds_a_big_one_depot_day_sparse(monkeypatch: Any) -> None:
    """At the threshold the pipeline builds sparse and plans with the decomposition.

    One order below, the same day is built dense; several depots never go sparse.
    """
    import doorstep.plan.decompose as decompose
    import doorstep.plan.registry as registry
    from doorstep.plan.pipeline import PlanOptions, plan_orders

    monkeypatch.setattr(decompose, "default_runner", SerialRunner)
    p = scattered_day(120)
    options = PlanOptions(time_limit_s=3.0, with_geometry=False)
    monkeypatch.setattr(registry, "SPARSE_MIN_ORDERS", len(p.orders))
    monkeypatch.setattr(registry, "DECOMPOSE_MIN_ORDERS", 100)
    provider = AskedProvider()
    day = plan_orders(p.orders, p.fleet, provider, options)
    assert day.backend == "decompose" and not day.problem.dense
    assert day.evaluation.feasible and day.evaluation.kpis.served == len(p.orders)
    monkeypatch.setattr(registry, "SPARSE_MIN_ORDERS", len(p.orders) + 1)
    assert plan_orders(p.orders, p.fleet, AskedProvider(), options).problem.dense
    assert holds_sparse(1, 10_000) and not holds_sparse(2, 10_000) and not holds_sparse(1, 10)


def test_a_sparse_day_goes_to_the_decomposition_whatever_its_features() -> None:
    """Even a day with breaks, which VROOM plans whole at that size, goes to the decomposition."""
    from doorstep.domain.fleet import Break
    from doorstep.domain.time_window import TimeWindow

    p = scattered_day(40)
    lunch = Break(TimeWindow(11 * 3600, 13 * 3600), 1800)
    p = problem(list(p.orders), [van(f"V{k}", break_=lunch) for k in range(2)])
    sparse = build_sparse_problem(p.orders, p.fleet, StraightLineProvider())
    assert choose_backend(sparse).name == "decompose"
    assert choose_backend(sparse, "vroom").name == "vroom"


@pytest.mark.parametrize("count", [0, 1])
def test_tiny_days_build_sparse_too(count: int) -> None:
    """No order or one: the strips are the whole matrix, and it reads like the dense build."""
    p = scattered_day(count) if count else problem([], [van("V0")])
    sparse = build_sparse_problem(p.orders, p.fleet, StraightLineProvider())
    dense = build_problem(p.orders, p.fleet, StraightLineProvider())
    assert np.array_equal(np.asarray(sparse.durations[Profile.VAN]), dense.durations[Profile.VAN])
