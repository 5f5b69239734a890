"""Tests for Vehicle's invariants: its shift and its break."""

import pytest

from doorstep.domain import Break, TimeWindow, Vehicle
from doorstep.domain.fleet import check_shift
from doorstep.errors import DomainError

H = 3600
SHIFT = TimeWindow(8 * H, 17 * H)


def test_a_break_outside_the_shift_is_refused() -> None:
    """A break whose window lies after the shift cannot be taken, so no vehicle has it."""
    with pytest.raises(DomainError, match="during the shift"):
        Vehicle("v", "d", shift=SHIFT, break_=Break(TimeWindow(18 * H, 19 * H), 1800))


def test_a_break_window_reaching_past_the_shift_is_fine_if_the_break_fits() -> None:
    """Only the part of the window inside the shift counts, and 30 minutes fit in it."""
    brk = Break(TimeWindow(16 * H, 18 * H), 1800)
    assert Vehicle("v", "d", shift=SHIFT, break_=brk).break_ == brk
    with pytest.raises(DomainError):
        Vehicle("v", "d", shift=SHIFT, break_=Break(TimeWindow(16 * H + 2000, 18 * H), 1800))


def test_a_break_longer_than_its_window_is_refused() -> None:
    """Break itself refuses a duration its window cannot hold."""
    with pytest.raises(DomainError, match="does not fit"):
        Break(TimeWindow(12 * H, 12 * H + 600), 1800)


def test_the_shift_must_end_after_it_starts() -> None:
    """An empty shift is refused by check_shift and so by Vehicle."""
    with pytest.raises(DomainError, match="must end after it starts"):
        check_shift(TimeWindow(9 * H, 9 * H))
    with pytest.raises(DomainError):
        Vehicle("v", "d", shift=TimeWindow(9 * H, 9 * H))
