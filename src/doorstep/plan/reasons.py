"""Why an order was left out, in words a planner understands.

Each unassigned order is tested against the reasons below, in order, and gets
the first that holds. Only the last one depends on the other orders: when an
order could be served on its own by some vehicle, it was left out because the
vehicles that could serve it were full or out of time with the rest.

=====================  ===================================================
code                   meaning
=====================  ===================================================
``off_network``        too far from any road the fleet can use
``no_skill``           no vehicle has every skill it needs
``too_big``            larger than every vehicle that could carry it
``window_unreachable`` its window closes before any vehicle can get there
``shift_too_short``    no vehicle can get there, serve it and return in
                       its shift (or maximum route duration)
``time_ran_out``       the search's time limit (or Ctrl-C) ended it before
                       the backend could try to place it
``partner_unplanned``  its paired pickup or delivery could not be planned
``no_capacity_left``   feasible alone; the vehicles were full or out of time
=====================  ===================================================
"""

from __future__ import annotations

from doorstep.domain.fleet import Vehicle
from doorstep.network.provider import UNREACHABLE
from doorstep.plan.problem import Problem
from doorstep.plan.solver import Assignment
from doorstep.units import format_clock


def _alone(problem: Problem, vehicle: Vehicle, index: int) -> tuple[str, str] | None:
    """Why ``vehicle`` cannot serve order ``index`` even with nothing else to do."""
    order = problem.orders[index]
    durations = problem.durations[vehicle.profile]
    start, end = problem.start_location(vehicle), problem.end_location(vehicle)
    here = problem.order_location(index)
    out, back = int(durations[start, here]), int(durations[here, end])
    if out >= UNREACHABLE or back >= UNREACHABLE:
        return ("off_network", "")
    arrival = vehicle.shift.start + out
    begin = arrival
    if order.windows:
        usable = [w for w in order.windows if w.end >= arrival]
        if not usable and order.soft_windows:
            usable = [order.windows[-1]]
        if not usable:
            return (
                "window_unreachable",
                f"its window closes at {format_clock(order.windows[-1].end)}; the earliest a "
                f"vehicle can get there is {format_clock(arrival)}",
            )
        begin = max(arrival, usable[0].start)
    finish = begin + order.service_s + back
    if finish > vehicle.shift.end:
        return (
            "shift_too_short",
            f"a vehicle serving it would be back at {format_clock(finish)}, after its shift "
            f"ends at {format_clock(vehicle.shift.end)}",
        )
    limit = vehicle.max_duration_s
    if limit is not None and out + order.service_s + back > limit:
        return (
            "shift_too_short",
            f"the round trip takes {round((out + order.service_s + back) / 60)} minutes, more "
            f"than the {round(limit / 60)}-minute maximum route",
        )
    return None


def explain(problem: Problem, assignment: Assignment) -> dict[str, tuple[str, str]]:
    """Order id -> (code, sentence) for every order the assignment leaves out."""
    served = {i for r in assignment.routes for i in r.orders}
    partner = {p: d for p, d in problem.pairs()} | {d: p for p, d in problem.pairs()}
    vehicles = problem.fleet.vehicles
    out: dict[str, tuple[str, str]] = {}
    for i, order in enumerate(problem.orders):
        if i in served:
            continue
        if problem.order_location(i) in problem.off_network:
            out[order.id] = (
                "off_network",
                "It is too far from any road the fleet can use; check its coordinates.",
            )
            continue
        skilled = [v for v in vehicles if problem.can_serve(v, order)]
        if not skilled:
            needs = ", ".join(sorted(order.skills))
            out[order.id] = ("no_skill", f"No vehicle has the skills it needs ({needs}).")
            continue
        fitting = [v for v in skilled if order.demand.fits_in(v.capacity)]
        if not fitting:
            out[order.id] = (
                "too_big",
                "It is larger than every vehicle that could carry it "
                f"({order.demand.parcels} parcels, {order.demand.weight_g / 1000:g} kg, "
                f"{order.demand.volume_ml / 1000:g} l).",
            )
            continue
        blocks = [_alone(problem, v, i) for v in fitting]
        if all(b is not None for b in blocks):
            code, detail = next(b for b in blocks if b is not None)
            if code == "off_network":
                out[order.id] = (
                    "off_network",
                    "No vehicle that could serve it can reach it by road.",
                )
            else:
                text = "window" if code == "window_unreachable" else "shift"
                out[order.id] = (code, f"No vehicle can make its {text}: {detail}.")
            continue
        if i in assignment.untried:
            out[order.id] = (
                "time_ran_out",
                "The search ended (time limit or interrupt) before it could try to place it; "
                "plan again with a longer time limit.",
            )
            continue
        if i in partner and partner[i] not in served:
            other = problem.orders[partner[i]].id
            out[order.id] = (
                "partner_unplanned",
                f"It is paired with {other}, which could not be planned.",
            )
            continue
        out[order.id] = (
            "no_capacity_left",
            "It could be served on its own, but the vehicles that can serve it were full "
            "or out of time with the other orders; add a vehicle or widen its window.",
        )
    return out
