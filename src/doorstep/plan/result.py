"""A planned day as it leaves the engine: the problem, the checked plan, and how it was made."""

from __future__ import annotations

from dataclasses import dataclass, field

from doorstep.domain.finding import Finding
from doorstep.plan.evaluator import Evaluation
from doorstep.plan.problem import Problem


@dataclass(frozen=True, slots=True, eq=False)
class DayPlan:
    """Everything the outputs (plan.json, manifests, GeoJSON, map) are written from.

    Attributes
    ----------
    problem
        The day that was planned (orders accepted by the gate, fleet, matrices).
    evaluation
        The evaluator's verdict: routes with times and loads, unassigned orders
        with reasons, violations, KPIs.
    backend
        Which solver produced the routes.
    time_limit_s, seed
        Search settings.
    runtime_s
        Wall time of the whole planning, gate to evaluation.
    rejected
        Gate findings of severity error: rows left out before planning.
    geometry
        Per route (aligned with ``evaluation.plan.routes``), the road polyline
        as ``(lat, lon)`` pairs from the depot through every stop and back.
    search_cost
        The backend's own objective value for the plan, for information (the
        plan's cost in money is ``evaluation.kpis.cost``).
    """

    problem: Problem
    evaluation: Evaluation
    backend: str
    time_limit_s: float
    seed: int
    runtime_s: float
    rejected: tuple[Finding, ...] = ()
    geometry: tuple[tuple[tuple[float, float], ...], ...] = field(default=())
    search_cost: float | None = None
