"""Tests for single-value parsing."""

import pytest

from doorstep.io import values


def test_number_accepts_decimal_comma_and_refuses_nonsense() -> None:
    """'60,17' is 60.17; 'x', inf and booleans are not numbers."""
    assert values.number("60,17") == pytest.approx(60.17)
    assert values.number(" 3 ") == 3.0
    for bad in ("x", "inf", True, "1,2,3"):
        with pytest.raises(ValueError):
            values.number(bad)


def test_whole_refuses_fractions() -> None:
    """Parcels are whole: '2.0' is 2, '1.5' is an error."""
    assert values.whole("2.0") == 2
    with pytest.raises(ValueError):
        values.whole("1.5")


def test_window_list_forms() -> None:
    """Several windows separated by ';' with '-', '–' or 'to' between the ends."""
    assert values.window_list("08:00-10:00; 14:00 – 16:00") == [(28_800, 36_000), (50_400, 57_600)]
    assert values.window_list([["8:00", "9:00"], {"start": 600, "end": 660}]) == [
        (28_800, 32_400),
        (36_000, 39_600),
    ]
    assert values.window_list("2026-11-23T08:00-2026-11-23T09:00") == [(28_800, 32_400)]


def test_overnight_iso_window_ends_after_midnight() -> None:
    """An ISO window ending on the next day ends after 24:00."""
    assert values.window("2026-11-23T22:00", "2026-11-24T02:00") == (79_200, 93_600)


def test_open_window_ends() -> None:
    """A missing start is midnight; a missing end is 24:00."""
    assert values.window("", "12:00") == (0, 43_200)
    assert values.window("12:00", None) == (43_200, 86_400)


def test_skills_split_and_lower() -> None:
    """Skills split on commas, semicolons or spaces and are lower-cased."""
    assert values.skills("Cold; ID_check") == frozenset({"cold", "id_check"})
    assert values.skills(["A", " b "]) == frozenset({"a", "b"})


def test_scaled_refuses_values_that_overflow() -> None:
    """1.8e305 kg is finite but infinite in grams: a ValueError, not an OverflowError."""
    assert values.scaled(1000)("2,5") == 2_500
    with pytest.raises(ValueError):
        values.scaled(1000)("1.797693134862316e+305")
