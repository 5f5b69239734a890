"""Solve academic benchmark instances (Solomon, Li & Lim, VRPLIB) and compare with the best known.

Benchmarks measure distance in the plane, with travel time equal to distance
and costs quoted to two decimals. Doorstep's engine works in integers, so
coordinates, times and distances are multiplied by :data:`SCALE` (1,000) and
rounded: the rounding error is at most 0.0005 per arc, far below the 0.01 the
best-known values are quoted to. The evaluator's distance, divided back, is the
figure reported and compared.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from doorstep.domain.fleet import Fleet, Profile
from doorstep.domain.instance import Instance, Metric
from doorstep.domain.time_window import TimeWindow
from doorstep.errors import InputError
from doorstep.io.instances import read_instance
from doorstep.plan.evaluator import evaluate
from doorstep.plan.problem import Objective, Problem
from doorstep.plan.reasons import explain
from doorstep.plan.solver import Solver, SolveSettings

SCALE = 1000


def _scaled_window(w: TimeWindow) -> TimeWindow:
    return TimeWindow(w.start * SCALE, w.end * SCALE)


def problem_from_instance(instance: Instance, objective: Objective) -> Problem:
    """The planning model of a benchmark instance, in units of 1/1000.

    Raises
    ------
    InputError
        For instances with geographic coordinates (they need a road network).
    """
    if instance.metric is Metric.GEOGRAPHIC:
        raise InputError(f"{instance.name}: geographic instances need a road network")
    points = [d.location for d in instance.depots] + [o.location for o in instance.orders]
    if instance.metric is Metric.EXPLICIT and instance.matrix is not None:
        real = np.array(instance.matrix, dtype=float)
    else:
        xy = np.array([(p.lon, p.lat) for p in points])
        real = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    matrix = np.rint(real * SCALE).astype(np.int64)
    orders = tuple(
        replace(
            o,
            windows=tuple(_scaled_window(w) for w in o.windows),
            service_s=o.service_s * SCALE,
        )
        for o in instance.orders
    )
    vehicles = tuple(replace(v, shift=_scaled_window(v.shift)) for v in instance.vehicles)
    profile = vehicles[0].profile if vehicles else Profile.VAN
    return Problem(
        orders=orders,
        fleet=Fleet(instance.depots, vehicles),
        durations={profile: matrix},
        distances={profile: matrix},
        objective=objective,
        all_required=True,
        source=f"{instance.name} (Euclidean x {SCALE})",
    )


@dataclass(frozen=True, slots=True)
class BenchmarkResult:
    """One instance solved: what ``solution.json`` and ``doorstep bench`` report."""

    instance: str
    objective: Objective
    backend: str
    routes: tuple[tuple[str, ...], ...]
    vehicles: int
    distance: float
    feasible: bool
    violations: tuple[str, ...]
    unassigned: int
    runtime_s: float
    time_limit_s: float
    seed: int
    best_known: float | None = None
    best_known_vehicles: int | None = None

    @property
    def gap(self) -> float | None:
        """(distance - best known) / best known, or None without a best known."""
        if self.best_known is None:
            return None
        return (self.distance - self.best_known) / self.best_known

    def as_dict(self) -> dict[str, object]:
        """The solution document (``routes`` hold the instance's own customer numbers)."""
        return {
            "instance": self.instance,
            "objective": self.objective.value,
            "backend": self.backend,
            "vehicles": self.vehicles,
            "distance": round(self.distance, 4),
            "feasible": self.feasible,
            "unassigned": self.unassigned,
            "violations": list(self.violations),
            "best_known": self.best_known,
            "best_known_vehicles": self.best_known_vehicles,
            "gap": None if self.gap is None else round(self.gap, 6),
            "time_limit_s": self.time_limit_s,
            "runtime_s": round(self.runtime_s, 2),
            "seed": self.seed,
            "routes": [list(r) for r in self.routes],
        }


def best_known(path: Path, name: str, objective: Objective) -> tuple[float, int] | None:
    """(cost, vehicles) from a ``BKS.json`` beside ``path`` (``_distance`` key for distance)."""
    bks = path.parent / "BKS.json"
    if not bks.is_file():
        return None
    table = json.loads(bks.read_text(encoding="utf-8"))
    key = f"{name}_distance" if objective is Objective.DISTANCE else name
    entry = table.get(key) or table.get(key.upper()) or table.get(key.lower())
    if entry is None:
        return None
    return float(entry["best_known_cost"]), int(entry.get("solved_with_vehicles", 0))


def solve_instance(
    path: Path,
    solver: Solver,
    objective: Objective = Objective.DISTANCE,
    time_limit_s: float = 10.0,
    seed: int = 0,
) -> BenchmarkResult:
    """Read, solve and evaluate one benchmark file."""
    instance = read_instance(path)
    problem = problem_from_instance(instance, objective)
    started = time.perf_counter()
    assignment = solver.solve(problem, SolveSettings(time_limit_s=time_limit_s, seed=seed))
    runtime = time.perf_counter() - started
    evaluation = evaluate(problem, assignment, explain(problem, assignment))
    known = best_known(path, instance.name, objective)
    routes = tuple(tuple(v.order_id for v in route.visits) for route in evaluation.plan.routes)
    return BenchmarkResult(
        instance=instance.name,
        objective=objective,
        backend=solver.name,
        routes=routes,
        vehicles=len(routes),
        distance=sum(r.distance_m for r in evaluation.plan.routes) / SCALE,
        feasible=evaluation.feasible and not evaluation.plan.unassigned,
        violations=tuple(v.code for v in evaluation.violations),
        unassigned=len(evaluation.plan.unassigned),
        runtime_s=runtime,
        time_limit_s=time_limit_s,
        seed=seed,
        best_known=known[0] if known else None,
        best_known_vehicles=known[1] if known else None,
    )


def summarise(results: list[BenchmarkResult]) -> dict[str, float | int]:
    """Mean, median and worst gap (in %) over the results that have a best known.

    Under the vehicles objective a distance gap only means something when the
    vehicle count equals the best known one, so the gaps are taken over those
    instances, and the instances with more (or fewer) vehicles are counted.
    """
    known = [r for r in results if r.gap is not None]
    if not known:
        return {"instances": len(results)}
    over = [r for r in known if r.best_known_vehicles and r.vehicles > r.best_known_vehicles]
    under = [r for r in known if r.best_known_vehicles and r.vehicles < r.best_known_vehicles]
    if results[0].objective is Objective.VEHICLES:
        known = [r for r in known if r not in over and r not in under]
    gaps = [100 * r.gap for r in known if r.gap is not None] or [float("nan")]
    return {
        "instances": len(results),
        "feasible": sum(r.feasible for r in results),
        "gap_instances": len(known),
        "mean_gap_pct": round(float(np.mean(gaps)), 3),
        "median_gap_pct": round(float(np.median(gaps)), 3),
        "worst_gap_pct": round(max(gaps), 3),
        "vehicles_over_bks": len(over),
        "vehicles_under_bks": len(under),
        "mean_runtime_s": round(float(np.mean([r.runtime_s for r in results])), 2),
    }
