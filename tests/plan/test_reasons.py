"""Tests for the reasons given for unassigned orders."""

from doorstep.domain import OrderKind
from doorstep.plan.problem import Problem
from doorstep.plan.reasons import explain
from doorstep.plan.solver import Assignment, RouteAssignment
from plan_problems import H, M, order, problem, van


def reasons_for_nothing_planned(p: Problem) -> dict[str, str]:
    return {k: code for k, (code, _) in explain(p, Assignment((), "none")).items()}


def test_each_reason_is_found() -> None:
    """Skill, size, window, shift, pairing and off-network reasons, and the fallback."""
    orders = [
        order("skill", 1, 0, skills=frozenset({"crane"})),
        order("big", 1, 0, parcels=500),
        order("early", 30, 0, windows=[(8 * H, 8 * H + 15 * M)]),
        order("far", 200, 0),
        order("pick", 1, 1, kind=OrderKind.PICKUP),
        order("drop", 500, 0, paired_pickup="pick"),
        order("fine", 1, 2),
    ]
    p = problem(orders, [van("A", shift=(8 * H, 12 * H))])
    got = reasons_for_nothing_planned(p)
    assert got == {
        "skill": "no_skill",
        "big": "too_big",
        "early": "window_unreachable",
        "far": "shift_too_short",
        "pick": "partner_unplanned",
        "drop": "shift_too_short",
        "fine": "no_capacity_left",
    }
    text = dict(explain(p, Assignment((), "none")))["early"][1]
    assert "08:15" in text and "09:00" in text


def test_planned_orders_get_no_reason_and_off_network_is_first() -> None:
    """Served orders are not explained; an off-network stop says so before anything else."""
    p = problem([order("a", 1, 0), order("b", 2, 0)], [van("A")])
    p = Problem(p.orders, p.fleet, p.durations, p.distances, off_network=frozenset({2}))  # order b
    got = explain(p, Assignment((RouteAssignment(0, (0,)),), "x"))
    assert list(got) == ["b"] and got["b"][0] == "off_network"


def test_orders_the_search_had_no_time_for_say_so() -> None:
    """An order the backend could not try before its time ran out is time_ran_out, not full vans."""
    p = problem([order("a", 1, 0), order("b", 2, 0)], [van("A")])
    assignment = Assignment((RouteAssignment(0, (0,)),), "t", untried=frozenset({1}))
    assert {k: code for k, (code, _) in explain(p, assignment).items()} == {"b": "time_ran_out"}
