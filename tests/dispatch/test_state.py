"""Order and stop states from the states of the order's parcels."""

from __future__ import annotations

from doorstep.dispatch.state import order_status, stop_state
from doorstep.domain.events import ParcelState as S
from doorstep.domain.order import OrderKind

D, P = OrderKind.DELIVERY, OrderKind.PICKUP


def test_a_delivery_is_delivered_only_when_every_parcel_is() -> None:
    """One parcel still out keeps the order out for delivery; a failed one shows first."""
    assert order_status(D, [S.DELIVERED, S.DELIVERED], "planned") == "delivered"
    assert order_status(D, [S.DELIVERED, S.OUT_FOR_DELIVERY], "planned") == "out_for_delivery"
    assert order_status(D, [S.FAILED_ATTEMPT, S.AT_STOP], "planned") == "failed_attempt"
    assert order_status(D, [S.CREATED], "planned") == "planned"


def test_returns_are_done_once_collected() -> None:
    """A return picked up (or back at the depot) is done; a failed pickup is failed."""
    assert order_status(P, [S.PICKED_UP], "planned") == "picked_up"
    assert order_status(P, [S.RETURNED_TO_DEPOT], "planned") == "returned_to_depot"
    assert stop_state("returned_to_depot", P) == "done"
    assert stop_state("returned_to_depot", D) == "failed"
    assert stop_state(order_status(P, [S.FAILED_ATTEMPT], "planned"), P) == "failed"
    assert stop_state("at_stop") == "arrived" and stop_state("loaded") == "pending"
