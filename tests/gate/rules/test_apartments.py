"""Tests for the missing-unit rule."""

import pytest

from manifests import check, codes_at, order_row


def test_missing_unit_where_neighbours_have_units() -> None:
    """Fredrikinkatu 20 has unit A 3 on row 2; another order there without a unit is flagged."""
    report = check(order_row("X1", address="Fredrikinkatu 20", lat="60.16410", lon="24.93810"))
    assert codes_at(report, 10) == {"unit_missing"}
    assert "rows 2" in report.findings[0].message


def test_missing_unit_where_the_address_says_apartments() -> None:
    """An address naming an apartment building needs a unit."""
    report = check(order_row("X1", address="Harbour View Apartments"))
    assert codes_at(report, 10) == {"unit_missing"}


@pytest.mark.parametrize("address", ["Main Street 5 Apt 4", "Fredrikinkatu 20 A 12", "Oak Rd #3"])
def test_unit_written_in_the_address_counts(address: str) -> None:
    """A unit inside the address line is enough."""
    report = check(order_row("X1", address=address))
    assert "unit_missing" not in codes_at(report, 10)


def test_single_house_needs_no_unit() -> None:
    """A building where nobody gives a unit raises nothing."""
    report = check(order_row("X1", address="Bulevardi 30"))
    assert codes_at(report, 10) == set()
