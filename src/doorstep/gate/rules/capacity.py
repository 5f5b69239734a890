"""Rules: some vehicle must be able to carry the order and have the skills it needs."""

from __future__ import annotations

from collections.abc import Iterator

from doorstep.domain.finding import Finding, Severity
from doorstep.domain.fleet import UNLIMITED
from doorstep.gate.context import RuleContext

_QUANTITY_FIELDS = ("parcels", "weight_kg", "volume_l")


def _amount(value: int, dimension: int) -> str:
    if dimension == 0:
        return f"{value:,} parcels"
    if dimension == 1:
        return f"{value / 1000:,.1f} kg"
    return f"{value / 1000:,.1f} l"


def check_demand_fits(ctx: RuleContext) -> Iterator[Finding]:
    """Flag an order larger than every vehicle's capacity (``demand_exceeds_capacity``, error).

    Needs a fleet. The order must fit one vehicle in all three dimensions
    (parcels, weight, volume) at once.
    """
    fleet = ctx.fleet
    if fleet is None or not fleet.vehicles:
        return
    capacities = sorted({v.capacity.as_tuple() for v in fleet.vehicles})
    largest = tuple(max(c[d] for c in capacities) for d in range(3))
    for record in ctx.records:
        if record.unparsed.intersection(_QUANTITY_FIELDS):
            continue
        demand = (record.parcels, record.weight_g, record.volume_ml)
        if any(all(d <= c for d, c in zip(demand, cap, strict=True)) for cap in capacities):
            continue
        over = [d for d in range(3) if demand[d] > largest[d]]
        if over:
            dim = over[0]
            message = (
                f"the order has {_amount(demand[dim], dim)} but the largest vehicle takes "
                f"{_amount(largest[dim], dim)}; split it into several orders or add a "
                "larger vehicle."
            )
            field_name: str | None = _QUANTITY_FIELDS[dim]
        else:
            shown = ", ".join(_amount(demand[d], d) for d in range(3) if largest[d] < UNLIMITED)
            message = (
                f"no single vehicle can take {shown} at once; split the order or add a "
                "larger vehicle."
            )
            field_name = None
        yield Finding("demand_exceeds_capacity", Severity.ERROR, message, record.row, field_name)


def check_skills_available(ctx: RuleContext) -> Iterator[Finding]:
    """Flag an order needing skills no vehicle has (``skill_unavailable``, error). Needs a fleet."""
    fleet = ctx.fleet
    if fleet is None or not fleet.vehicles:
        return
    skill_sets = {v.skills for v in fleet.vehicles}
    known = frozenset().union(*skill_sets)
    for record in ctx.records:
        if not record.skills or any(record.skills <= s for s in skill_sets):
            continue
        missing = sorted(record.skills - known)
        if missing:
            have = ", ".join(sorted(known)) or "none"
            message = (
                f"needs {', '.join(repr(m) for m in missing)}, which no vehicle has "
                f"(the fleet's skills: {have}); fix the skill name or equip a vehicle."
            )
        else:
            message = (
                f"needs {', '.join(sorted(record.skills))} together, but no single vehicle "
                "has all of them."
            )
        yield Finding("skill_unavailable", Severity.ERROR, message, record.row, "skills")
