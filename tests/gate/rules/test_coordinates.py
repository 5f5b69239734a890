"""Tests for the coordinate rules."""

import pytest

from manifests import check, codes_at, order_row


def test_clean_manifest_has_no_findings() -> None:
    """The clean base manifest and fleet pass without a single finding."""
    report = check()
    assert report.findings == ()
    assert report.accepted == report.rows == 8


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"lat": "", "lon": ""}, "coord_missing"),
        ({"lon": ""}, "coord_missing"),
        ({"lat": "0", "lon": "0"}, "coord_null_island"),
        ({"lat": "160.2"}, "coord_out_of_range"),
        ({"lon": "-200"}, "coord_out_of_range"),
        ({"lat": "24.93500", "lon": "60.16560"}, "coord_swapped"),
        ({"lat": "61.4978", "lon": "23.7610"}, "coord_outlier"),
    ],
)
def test_bad_coordinates_are_flagged(fields: dict[str, str], code: str) -> None:
    """Each kind of bad coordinate gets its own code on its row, and only there."""
    report = check(order_row("X1", **fields))
    assert codes_at(report, 10) == {code}
    assert {f.row for f in report.findings} == {10}


def test_out_of_range_is_not_called_swapped_when_the_swap_lands_elsewhere() -> None:
    """Latitude 160.2 swapped lands in the Pacific, far from the stops: out of range."""
    report = check(order_row("X1", lat="160.2", lon="24.935"))
    assert codes_at(report, 10) == {"coord_out_of_range"}


def test_errors_reject_the_row_and_warnings_do_not() -> None:
    """A missing coordinate rejects the order; a far stop is kept with a warning."""
    report = check(order_row("X1", lat=""), order_row("X2", lat="61.4978", lon="23.7610"))
    assert report.rejected_rows == {10}
    assert "X2" in {o.id for o in report.orders}


def test_no_outliers_without_enough_points() -> None:
    """With fewer located points than the minimum, no service area is guessed."""
    report = check(order_row("X1", lat="61.4978", lon="23.7610"), base=(), fleet=None)
    assert report.findings == ()
