"""Tests for Load, the three-dimensional quantity."""

import pytest

from doorstep.domain import Load
from doorstep.errors import DomainError


def test_fits_in_checks_every_dimension() -> None:
    """A load fits only if it fits in parcels, weight and volume at once."""
    capacity = Load(10, 1_000, 1_000)
    assert Load(10, 1_000, 1_000).fits_in(capacity)
    assert not Load(1, 1_001, 1).fits_in(capacity)
    assert not Load(1, 1, 1_001).fits_in(capacity)


def test_addition_and_negative() -> None:
    """Loads add per dimension; negative quantities are refused."""
    assert Load(1, 2, 3) + Load(4, 5, 6) == Load(5, 7, 9)
    with pytest.raises(DomainError):
        Load(-1, 0, 0)
