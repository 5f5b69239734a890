r"""Scan events and the parcel state machine they drive.

A parcel's state is a fold over its scan events in event-time order. Deliveries
and returns (pickups at the customer's door) follow different paths::

    delivery: created -> at_depot -> loaded -> out_for_delivery -> at_stop -> delivered
                                                    ^        \-> failed_attempt -+
                                                    +-----------------------------+
              failed_attempt / out_for_delivery -> returned_to_depot -> (loaded | at_depot)
    return:   created -> at_stop -> picked_up -> returned_to_depot
                      \-> failed_attempt -> (at_stop | picked_up)

Scans that repeat the current state (a parcel scanned twice at the depot) are allowed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from doorstep.domain.location import Location
from doorstep.domain.order import OrderKind
from doorstep.errors import DomainError, InvalidTransitionError


class ScanKind(StrEnum):
    """What a scan says happened."""

    SCANNED_AT_DEPOT = "scanned_at_depot"
    """The parcel was received (or scanned again) at the depot."""
    LOADED = "loaded"
    """The parcel was put on its vehicle."""
    OUT_FOR_DELIVERY = "out_for_delivery"
    """The vehicle left the depot with the parcel."""
    ARRIVED_AT_STOP = "arrived_at_stop"
    """The driver reached the parcel's stop."""
    DELIVERED = "delivered"
    """The parcel was handed over (a :class:`Proof` may say to whom)."""
    FAILED_ATTEMPT = "failed_attempt"
    """A delivery or pickup did not happen; the event names a :class:`FailureReason`."""
    RETURNED_TO_DEPOT = "returned_to_depot"
    """The parcel came back to the depot: undelivered, or a collected return."""
    RETURN_PICKED_UP = "return_picked_up"
    """A return was collected at the customer's door."""


class ParcelState(StrEnum):
    """Where a parcel is in its life."""

    CREATED = "created"
    """Known from its order, not scanned yet."""
    AT_DEPOT = "at_depot"
    """At the depot, waiting to be loaded."""
    LOADED = "loaded"
    """On its vehicle, which has not left yet."""
    OUT_FOR_DELIVERY = "out_for_delivery"
    """On its vehicle, on the road."""
    AT_STOP = "at_stop"
    """The driver is at its stop."""
    DELIVERED = "delivered"
    """Handed over; final."""
    FAILED_ATTEMPT = "failed_attempt"
    """An attempt failed; the parcel stays on the vehicle (or the return at the door)."""
    PICKED_UP = "picked_up"
    """A return, collected and on the vehicle."""
    RETURNED_TO_DEPOT = "returned_to_depot"
    """Back at the depot after the road."""


class FailureReason(StrEnum):
    """Why a delivery or pickup attempt failed."""

    NOT_HOME = "not_home"
    """Nobody answered the door."""
    NO_ACCESS = "no_access"
    """The driver could not get to the door (locked gate, no entry code)."""
    ADDRESS_NOT_FOUND = "address_not_found"
    """The address could not be found where the order puts it."""
    REFUSED = "refused"
    """The recipient would not accept the parcel."""
    DAMAGED = "damaged"
    """The parcel was found damaged and not handed over."""
    UNSAFE = "unsafe"
    """The driver judged the stop unsafe to serve."""
    BUSINESS_CLOSED = "business_closed"
    """A business address was closed when the driver came."""


@dataclass(frozen=True, slots=True)
class Proof:
    """Proof of delivery: who took it, and references to a signature or photo."""

    recipient_name: str = ""
    signature_ref: str = ""
    photo_ref: str = ""


@dataclass(frozen=True, slots=True)
class ScanEvent:
    """One scan of one parcel.

    Parameters
    ----------
    event_id
        The client's id for this event; ingesting it twice is a no-op.
    parcel_id
        The parcel scanned.
    kind
        What happened.
    at
        When it happened (timezone-aware).
    failure_reason
        Required for a failed attempt, forbidden otherwise.
    """

    event_id: str
    parcel_id: str
    kind: ScanKind
    at: datetime
    order_id: str | None = None
    vehicle_id: str | None = None
    position: Location | None = None
    failure_reason: FailureReason | None = None
    proof: Proof | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise DomainError(f"event {self.event_id}: time must carry a timezone")
        if (self.kind is ScanKind.FAILED_ATTEMPT) != (self.failure_reason is not None):
            raise DomainError(
                f"event {self.event_id}: a failure reason goes with failed attempts, and only them"
            )


_S = ParcelState
_K = ScanKind

_DELIVERY_MOVES: dict[ParcelState, dict[ScanKind, ParcelState]] = {
    _S.CREATED: {_K.SCANNED_AT_DEPOT: _S.AT_DEPOT},
    _S.AT_DEPOT: {_K.SCANNED_AT_DEPOT: _S.AT_DEPOT, _K.LOADED: _S.LOADED},
    _S.LOADED: {
        _K.LOADED: _S.LOADED,
        _K.SCANNED_AT_DEPOT: _S.AT_DEPOT,
        _K.OUT_FOR_DELIVERY: _S.OUT_FOR_DELIVERY,
    },
    _S.OUT_FOR_DELIVERY: {
        _K.OUT_FOR_DELIVERY: _S.OUT_FOR_DELIVERY,
        _K.ARRIVED_AT_STOP: _S.AT_STOP,
        _K.DELIVERED: _S.DELIVERED,
        _K.FAILED_ATTEMPT: _S.FAILED_ATTEMPT,
        _K.RETURNED_TO_DEPOT: _S.RETURNED_TO_DEPOT,
    },
    _S.AT_STOP: {
        _K.ARRIVED_AT_STOP: _S.AT_STOP,
        _K.DELIVERED: _S.DELIVERED,
        _K.FAILED_ATTEMPT: _S.FAILED_ATTEMPT,
    },
    _S.FAILED_ATTEMPT: {
        _K.OUT_FOR_DELIVERY: _S.OUT_FOR_DELIVERY,
        _K.ARRIVED_AT_STOP: _S.AT_STOP,
        _K.RETURNED_TO_DEPOT: _S.RETURNED_TO_DEPOT,
    },
    _S.RETURNED_TO_DEPOT: {
        _K.RETURNED_TO_DEPOT: _S.RETURNED_TO_DEPOT,
        _K.SCANNED_AT_DEPOT: _S.AT_DEPOT,
        _K.LOADED: _S.LOADED,
    },
    _S.DELIVERED: {},
}

_RETURN_MOVES: dict[ParcelState, dict[ScanKind, ParcelState]] = {
    _S.CREATED: {
        _K.ARRIVED_AT_STOP: _S.AT_STOP,
        _K.RETURN_PICKED_UP: _S.PICKED_UP,
        _K.FAILED_ATTEMPT: _S.FAILED_ATTEMPT,
    },
    _S.AT_STOP: {
        _K.ARRIVED_AT_STOP: _S.AT_STOP,
        _K.RETURN_PICKED_UP: _S.PICKED_UP,
        _K.FAILED_ATTEMPT: _S.FAILED_ATTEMPT,
    },
    _S.FAILED_ATTEMPT: {_K.ARRIVED_AT_STOP: _S.AT_STOP, _K.RETURN_PICKED_UP: _S.PICKED_UP},
    _S.PICKED_UP: {_K.RETURN_PICKED_UP: _S.PICKED_UP, _K.RETURNED_TO_DEPOT: _S.RETURNED_TO_DEPOT},
    _S.RETURNED_TO_DEPOT: {_K.RETURNED_TO_DEPOT: _S.RETURNED_TO_DEPOT},
}


def next_state(
    state: ParcelState, scan: ScanKind, kind: OrderKind = OrderKind.DELIVERY
) -> ParcelState:
    """Return the state a parcel moves to when ``scan`` happens in ``state``.

    Raises
    ------
    InvalidTransitionError
        If the scan is impossible in that state (a delivered parcel loaded again).
    """
    moves = _DELIVERY_MOVES if kind is OrderKind.DELIVERY else _RETURN_MOVES
    try:
        return moves[state][scan]
    except KeyError:
        allowed = ", ".join(sorted(moves.get(state, {}))) or "none (final state)"
        raise InvalidTransitionError(
            f"a {kind.value} parcel in state '{state}' cannot be '{scan}'",
            hint=f"Allowed scans from here: {allowed}.",
        ) from None


def fold(
    events: Iterable[ScanEvent],
    kind: OrderKind = OrderKind.DELIVERY,
    start: ParcelState = ParcelState.CREATED,
) -> ParcelState:
    """Fold one parcel's events, in event-time order, into its current state.

    Events are sorted by ``(at, event_id)`` first, so arrival order does not matter.

    Raises
    ------
    InvalidTransitionError
        At the first impossible event.
    """
    state = start
    for event in sorted(events, key=lambda e: (e.at, e.event_id)):
        state = next_state(state, event.kind, kind)
    return state
