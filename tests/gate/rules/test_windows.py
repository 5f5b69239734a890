"""Tests for the time-window rules."""

from manifests import check, codes_at, order_row


def test_window_ending_before_it_starts() -> None:
    """14:00-10:00 is an error naming both times."""
    report = check(order_row("X1", window_start="14:00", window_end="10:00"))
    assert codes_at(report, 10) == {"window_end_before_start"}
    assert "10:00" in report.findings[0].message


def test_window_shorter_than_service() -> None:
    """A 3-minute window for a 5-minute stop is an error (and only that)."""
    report = check(order_row("X1", window_start="10:00", window_end="10:03", service_min="5"))
    assert codes_at(report, 10) == {"window_shorter_than_service"}


def test_window_outside_every_shift() -> None:
    """03:00-04:30 is before every vehicle's shift."""
    report = check(order_row("X1", window_start="03:00", window_end="04:30"))
    assert codes_at(report, 10) == {"window_outside_shifts"}


def test_window_overlapping_a_shift_by_less_than_the_service() -> None:
    """A window ending 2 minutes into the earliest shift cannot hold a 3-minute stop."""
    report = check(order_row("X1", window_start="06:00", window_end="07:32", service_min="3"))
    assert codes_at(report, 10) == {"window_outside_shifts"}
    report = check(order_row("X1", window_start="06:00", window_end="07:33", service_min="3"))
    assert codes_at(report, 10) == set()


def test_shift_check_needs_a_fleet() -> None:
    """Without a fleet, a night window is not judged against shifts."""
    report = check(order_row("X1", window_start="03:00", window_end="04:30"), fleet=None)
    assert codes_at(report, 10) == set()


def test_late_shift_serves_an_evening_window() -> None:
    """19:00-20:00 fits the 11:30-20:00 van shift."""
    report = check(order_row("X1", window_start="19:00", window_end="20:00"))
    assert codes_at(report, 10) == set()
