"""Tests for the duplicate rules."""

from manifests import check, codes_at, order_row


def test_repeated_id_is_an_error_on_the_later_row() -> None:
    """The second use of an id is rejected and names the first row."""
    report = check(order_row("C1"))
    assert codes_at(report, 10) == {"duplicate_order_id"}
    assert "row 2" in report.findings[0].message
    assert codes_at(report, 2) == set()


def test_missing_id_is_an_error() -> None:
    """A row without an id is rejected."""
    report = check(order_row(""))
    assert codes_at(report, 10) == {"order_id_missing"}
    assert report.rejected_rows == {10}


def test_same_stop_and_window_twice_is_a_likely_duplicate() -> None:
    """Same address, unit, zip, kind and window with another id is a warning."""
    report = check(order_row("X1"), order_row("X2"))
    assert codes_at(report, 11) == {"duplicate_stop"}
    assert codes_at(report, 10) == set()
    assert report.accepted == 10


def test_other_window_or_unit_is_not_a_duplicate() -> None:
    """A different window or a different unit at the same address is a different stop."""
    report = check(order_row("X1"), order_row("X2", window_start="15:00", window_end="17:00"))
    assert report.findings == ()
    report = check(order_row("X1", unit="A 1"), order_row("X2", unit="A 2"))
    assert report.findings == ()
