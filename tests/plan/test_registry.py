"""The backends by name, and the automatic choice by size and features (``plan.registry``)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from doorstep.errors import InputError
from doorstep.plan.problem import Lock
from doorstep.plan.registry import (
    DECOMPOSE_MIN_ORDERS,
    DEPOTS_MIN_ORDERS,
    choose_backend,
    choose_engine,
)
from plan_problems import order, problem, van


def _orders(n: int) -> list:
    return [order(f"o{i}", (i % 40) * 0.1, (i // 40) * 0.1) for i in range(n)]


def test_small_days_go_to_an_engine() -> None:
    """Below the decomposition's threshold the engine is chosen by features (PyVRP here)."""
    day = problem(_orders(DECOMPOSE_MIN_ORDERS - 1), [van("A"), van("B")])
    assert choose_backend(day).name == "pyvrp"


def test_big_days_are_decomposed_unless_locked() -> None:
    """From the threshold the decomposition plans the day; a day with locks goes whole."""
    orders = _orders(DECOMPOSE_MIN_ORDERS)
    assert choose_backend(problem(orders, [van("A"), van("B")])).name == "decompose"
    locked = problem(orders, [van("A"), van("B")], locks=[Lock("o1", "A")])
    assert choose_backend(locked).name == "ortools"


def test_big_days_with_breaks_are_decomposed_with_pyvrp() -> None:
    """Breaks: a small day goes to OR-Tools; a big day (or its part) to PyVRP.

    PyVRP plans breaks inside its search; from the threshold the decomposition
    plans the day (measured at 1,000 and 2,000 orders).
    """
    from doorstep.domain import TimeWindow
    from doorstep.domain.fleet import Break

    rest = Break(TimeWindow(11 * 3600, 13 * 3600), 1800)
    day = problem(_orders(DECOMPOSE_MIN_ORDERS), [van("A", break_=rest), van("B")])
    assert choose_backend(day).name == "decompose"
    assert choose_engine(day, big_day=True).name == "pyvrp"
    small = problem(_orders(20), [van("A", break_=rest), van("B")])
    assert choose_backend(small).name == choose_engine(small).name == "ortools"
    late_ok = replace(order("s", 1, 1, windows=[(8 * 3600, 9 * 3600)]), late_cost_per_hour=6000)
    soft = problem([late_ok], [van("A")])
    assert choose_engine(soft, big_day=True).name == "ortools"  # what PyVRP lacks still rules


def test_the_biggest_days_with_breaks_go_to_vroom_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """From VROOM_BREAKS_MIN_ORDERS (lowered here) a day with breaks goes to VROOM whole."""
    from doorstep.domain import TimeWindow
    from doorstep.domain.fleet import Break
    from doorstep.plan import registry

    monkeypatch.setattr(registry, "VROOM_BREAKS_MIN_ORDERS", DECOMPOSE_MIN_ORDERS + 10)
    rest = Break(TimeWindow(11 * 3600, 13 * 3600), 1800)
    vans = [van("A", break_=rest), van("B")]
    assert choose_backend(problem(_orders(DECOMPOSE_MIN_ORDERS + 9), vans)).name == "decompose"
    assert choose_backend(problem(_orders(DECOMPOSE_MIN_ORDERS + 10), vans)).name == "vroom"
    no_breaks = problem(_orders(DECOMPOSE_MIN_ORDERS + 10), [van("A"), van("B")])
    assert choose_backend(no_breaks).name == "decompose"


def test_big_days_of_several_depots_are_split_by_depot() -> None:
    """Two depots and enough orders: the depot split; one depot and as many: the decomposition."""
    orders = _orders(DEPOTS_MIN_ORDERS)
    two = problem(orders, [van("A", "D"), van("B", "E")], depots=(("D", 0, 0), ("E", 4, 4)))
    assert choose_backend(two).name == "depots"
    assert choose_backend(problem(orders, [van("A"), van("B")])).name == "decompose"


def test_a_name_wins_and_a_strategy_is_no_engine() -> None:
    """A named backend is used as asked; decompose or depots cannot plan the parts."""
    day = problem(_orders(10), [van("A")])
    assert choose_backend(day, "decompose").name == "decompose"
    assert choose_engine(day, "vroom").name == "vroom"
    with pytest.raises(InputError, match="splits a day"):
        choose_engine(day, "depots")
