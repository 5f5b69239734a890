"""Tests for the parcel state machine and the fold over scan events."""

from datetime import UTC, datetime, timedelta

import pytest

from doorstep.domain import FailureReason, OrderKind, ParcelState, ScanEvent, ScanKind, fold
from doorstep.domain.events import next_state
from doorstep.errors import DomainError, InvalidTransitionError

T0 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def _event(n: int, kind: ScanKind, **extra: object) -> ScanEvent:
    return ScanEvent(f"e{n}", "P1", kind, T0 + timedelta(minutes=n), **extra)  # type: ignore[arg-type]


HAPPY_PATH = [
    _event(1, ScanKind.SCANNED_AT_DEPOT),
    _event(2, ScanKind.LOADED),
    _event(3, ScanKind.OUT_FOR_DELIVERY),
    _event(4, ScanKind.ARRIVED_AT_STOP),
    _event(5, ScanKind.DELIVERED),
]


def test_happy_path_ends_delivered() -> None:
    """Depot scan, load, out, arrive, deliver: the parcel is delivered."""
    assert fold(HAPPY_PATH) is ParcelState.DELIVERED


def test_fold_orders_by_event_time_not_arrival() -> None:
    """Events arriving shuffled fold to the same state."""
    assert fold(list(reversed(HAPPY_PATH))) is ParcelState.DELIVERED


def test_delivered_parcel_cannot_be_loaded_again() -> None:
    """An impossible transition raises with its code and the allowed scans."""
    with pytest.raises(InvalidTransitionError) as caught:
        fold([*HAPPY_PATH, _event(6, ScanKind.LOADED)])
    assert caught.value.code == "invalid_transition"


def test_failed_attempt_then_return_to_depot_then_reload() -> None:
    """A failed delivery goes back to the depot and can be loaded the next day."""
    failed = _event(5, ScanKind.FAILED_ATTEMPT, failure_reason=FailureReason.NOT_HOME)
    events = [*HAPPY_PATH[:4], failed, _event(6, ScanKind.RETURNED_TO_DEPOT)]
    assert fold(events) is ParcelState.RETURNED_TO_DEPOT
    assert next_state(ParcelState.RETURNED_TO_DEPOT, ScanKind.LOADED) is ParcelState.LOADED


def test_return_parcels_start_at_the_customer() -> None:
    """A return is picked up at the door, then returned to the depot; it is never loaded."""
    events = [_event(1, ScanKind.RETURN_PICKED_UP), _event(2, ScanKind.RETURNED_TO_DEPOT)]
    assert fold(events, kind=OrderKind.PICKUP) is ParcelState.RETURNED_TO_DEPOT
    with pytest.raises(InvalidTransitionError):
        next_state(ParcelState.CREATED, ScanKind.LOADED, OrderKind.PICKUP)


def test_event_invariants() -> None:
    """Events need a timezone, and a failure reason exactly when the attempt failed."""
    with pytest.raises(DomainError):
        ScanEvent("e", "P", ScanKind.LOADED, datetime(2026, 11, 23, 7, 0))
    with pytest.raises(DomainError):
        ScanEvent("e", "P", ScanKind.FAILED_ATTEMPT, T0)
    with pytest.raises(DomainError):
        ScanEvent("e", "P", ScanKind.DELIVERED, T0, failure_reason=FailureReason.REFUSED)
