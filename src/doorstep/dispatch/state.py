"""What an order and its stop are doing, from the states of the order's parcels."""

from __future__ import annotations

from collections.abc import Collection

from doorstep.domain.events import ParcelState
from doorstep.domain.order import OrderKind

_S = ParcelState

_DELIVERY_PRECEDENCE: tuple[ParcelState, ...] = (
    _S.FAILED_ATTEMPT,
    _S.AT_STOP,
    _S.OUT_FOR_DELIVERY,
    _S.RETURNED_TO_DEPOT,
    _S.LOADED,
    _S.AT_DEPOT,
)
"""For a delivery whose parcels are not all delivered: the first state any parcel is in."""

_RETURN_PRECEDENCE: tuple[ParcelState, ...] = (_S.FAILED_ATTEMPT, _S.AT_STOP)


def order_status(kind: OrderKind, parcels: Collection[ParcelState], current: str) -> str:
    """The order's status given its parcels' states.

    Parameters
    ----------
    kind
        Delivery or pickup (a customer return).
    parcels
        The state of each of the order's parcels.
    current
        The stored status, kept while no parcel has moved (``created``, ``planned``).

    Returns
    -------
    str
        ``delivered`` when every parcel is; for returns ``picked_up`` /
        ``returned_to_depot`` when every parcel is collected; otherwise the most
        telling state of any parcel (a failed attempt first), or ``current``.
    """
    states = set(parcels)
    if not states:
        return current
    if kind is OrderKind.DELIVERY:
        if states == {_S.DELIVERED}:
            return _S.DELIVERED.value
        order = _DELIVERY_PRECEDENCE
    else:
        if states == {_S.RETURNED_TO_DEPOT}:
            return _S.RETURNED_TO_DEPOT.value
        if states <= {_S.PICKED_UP, _S.RETURNED_TO_DEPOT}:
            return _S.PICKED_UP.value
        order = _RETURN_PRECEDENCE
    for state in order:
        if state in states:
            return state.value
    return current


def stop_state(status: str, kind: OrderKind = OrderKind.DELIVERY) -> str:
    """The stop's state for an order status: pending, arrived, done or failed.

    A delivery back at the depot was not delivered: its stop failed. A return
    back at the depot was collected: its stop is done.
    """
    if status in ("delivered", "picked_up"):
        return "done"
    if status == "returned_to_depot":
        return "done" if kind is OrderKind.PICKUP else "failed"
    if status == "failed_attempt":
        return "failed"
    if status == "at_stop":
        return "arrived"
    return "pending"
