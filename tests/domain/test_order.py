"""Tests for Order's invariants."""

import pytest

from doorstep.domain import Location, Order, TimeWindow
from doorstep.errors import DomainError

HERE = Location(60.17, 24.94)


def test_order_needs_an_id_and_sorted_disjoint_windows() -> None:
    """Empty id, unsorted or overlapping windows are refused."""
    with pytest.raises(DomainError):
        Order(id="", location=HERE)
    with pytest.raises(DomainError, match="sorted"):
        Order(id="A", location=HERE, windows=(TimeWindow(50, 60), TimeWindow(10, 20)))
    with pytest.raises(DomainError, match="overlap"):
        Order(id="A", location=HERE, windows=(TimeWindow(10, 30), TimeWindow(20, 40)))


def test_location_distance_and_range() -> None:
    """Locations measure great-circle distance and know whether they are geographic."""
    assert Location(60.0, 25.0).distance_m(Location(60.0, 25.0)) == 0.0
    assert not Location(95.0, 10.0).is_geographic
    with pytest.raises(DomainError):
        Location(float("nan"), 0.0)


def test_a_window_of_one_instant_is_allowed() -> None:
    """A window ending as it starts is valid (the stop starts exactly then); inverted is not."""
    assert Order(id="A", location=HERE, windows=(TimeWindow(100, 100),)).windows[0].duration == 0
    with pytest.raises(DomainError):
        TimeWindow(100, 99)


def test_pairing_problem_names_the_first_thing_wrong_and_records_a_sound_pair() -> None:
    """One rule for pairings: a pickup is not paired, the pickup exists, is a pickup, once."""
    from doorstep.domain.order import OrderKind, PairingProblem, pairing_problem

    kinds = {"P": OrderKind.PICKUP, "D": OrderKind.DELIVERY}
    taken: dict[str, object] = {}
    assert pairing_problem("X", OrderKind.PICKUP, "P", kinds, taken) is PairingProblem.ON_PICKUP
    assert pairing_problem("X", OrderKind.DELIVERY, "Q", kinds, taken) is PairingProblem.UNKNOWN
    assert pairing_problem("X", OrderKind.DELIVERY, "D", kinds, taken) is (
        PairingProblem.NOT_PICKUP
    )
    assert pairing_problem("X", OrderKind.DELIVERY, "P", kinds, taken) is None
    assert taken == {"P": "X"}
    assert pairing_problem("X", OrderKind.DELIVERY, "P", kinds, taken) is None  # same order again
    assert pairing_problem("Y", OrderKind.DELIVERY, "P", kinds, taken) is PairingProblem.SHARED
