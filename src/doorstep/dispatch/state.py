"""What an order and its stop are doing, from the states of the order's parcels.

An order lives through several delivery attempts: :func:`after_attempt` counts
them (``orders.attempts``) and marks a delivery for return to sender after the
last allowed one; :func:`plannable_again` says whether a failed delivery is
offered to the next plan.
"""

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

RETURN_TO_SENDER = "return_to_sender"
"""A delivery whose last allowed attempt failed: it goes back to the sender, not out again."""

REDELIVERABLE: tuple[str, ...] = (_S.FAILED_ATTEMPT.value, _S.RETURNED_TO_DEPOT.value)
"""Statuses of a delivery that was not delivered and may be planned again."""


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
    if status in ("failed_attempt", RETURN_TO_SENDER):
        return "failed"
    if status == "at_stop":
        return "arrived"
    return "pending"


def after_attempt(
    kind: OrderKind, current: str, computed: str, attempts: int, max_attempts: int
) -> tuple[str, int]:
    """The order's status and attempt count once its parcels moved.

    An attempt is counted when the status *becomes* ``failed_attempt``: several
    parcels of one order failing in one visit, or a failed attempt followed by
    ``returned_to_depot``, are one attempt. A parcel brought back without a
    failed attempt at the door is not counted. When a delivery's failed attempt
    is its ``max_attempts``-th, the order becomes ``return_to_sender``, and stays
    so unless its parcels end up delivered after all.

    Parameters
    ----------
    kind
        Delivery or pickup (a pickup is never returned to sender).
    current
        The stored status.
    computed
        The status the parcels' states give (:func:`order_status`).
    attempts
        The stored count of failed attempts.
    max_attempts
        Attempts allowed (the setting ``max_attempts``).

    Returns
    -------
    tuple of (str, int)
        The new status and the new count.
    """
    if current == RETURN_TO_SENDER:
        return (computed if computed == _S.DELIVERED.value else RETURN_TO_SENDER), attempts
    if computed == _S.FAILED_ATTEMPT.value and current != computed:
        attempts += 1
        if kind is OrderKind.DELIVERY and attempts >= max_attempts:
            return RETURN_TO_SENDER, attempts
    return computed, attempts


def plannable_again(kind: OrderKind | str, status: str, attempts: int, max_attempts: int) -> bool:
    """Whether a delivery that failed is offered to the next plan like a ``created`` order.

    Parameters
    ----------
    kind
        The order's kind; only deliveries are planned again.
    status
        The order's status: ``failed_attempt`` or ``returned_to_depot``.
    attempts
        Its failed attempts so far.
    max_attempts
        Attempts allowed (the setting ``max_attempts``).

    Returns
    -------
    bool
        True for a delivery with one of :data:`REDELIVERABLE` statuses and
        attempts left.
    """
    return (
        OrderKind(kind) is OrderKind.DELIVERY
        and status in REDELIVERABLE
        and attempts < max_attempts
    )
