"""The backends by name, and the automatic choice by size and features (``plan.registry``)."""

from __future__ import annotations

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


def test_big_days_with_breaks_go_to_vroom() -> None:
    """From the threshold, drivers' breaks send the day to VROOM whole (measured at 2,000)."""
    from doorstep.domain import TimeWindow
    from doorstep.domain.fleet import Break

    rest = Break(TimeWindow(11 * 3600, 13 * 3600), 1800)
    day = problem(_orders(DECOMPOSE_MIN_ORDERS), [van("A", break_=rest), van("B")])
    assert choose_backend(day).name == "vroom"


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
