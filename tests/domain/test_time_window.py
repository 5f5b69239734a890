"""Tests for TimeWindow."""

import pytest

from doorstep.domain import TimeWindow
from doorstep.errors import DomainError


def test_window_refuses_end_before_start() -> None:
    """A window ending before it starts cannot be built."""
    with pytest.raises(DomainError, match="before it starts"):
        TimeWindow(3_600, 1_800)


def test_window_refuses_negative_start() -> None:
    """A window cannot start before midnight."""
    with pytest.raises(DomainError):
        TimeWindow(-1, 10)


def test_overlap_and_duration() -> None:
    """Touching windows overlap; duration is end minus start; str is HH:MM-HH:MM."""
    morning, noon = TimeWindow(8 * 3600, 12 * 3600), TimeWindow(12 * 3600, 14 * 3600)
    assert morning.overlaps(noon)
    assert not morning.overlaps(TimeWindow(13 * 3600, 14 * 3600))
    assert morning.duration == 4 * 3600
    assert str(morning) == "08:00-12:00"
