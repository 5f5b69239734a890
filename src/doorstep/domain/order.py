"""What a customer asked for: a delivery, or a return picked up at their door."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise

from doorstep.domain.load import Load
from doorstep.domain.location import Location
from doorstep.domain.time_window import TimeWindow
from doorstep.errors import DomainError


class OrderKind(StrEnum):
    """A delivery drops a load off; a pickup (a customer return) takes one on board."""

    DELIVERY = "delivery"
    PICKUP = "pickup"


class PairingProblem(StrEnum):
    """Why a delivery's ``paired_pickup`` cannot be planned (:func:`pairing_problem`)."""

    ON_PICKUP = "on_pickup"
    """The order is a pickup: only a delivery is paired (with the pickup collected first)."""
    UNKNOWN = "unknown"
    """No order has that id."""
    NOT_PICKUP = "not_pickup"
    """The named order is a delivery."""
    SHARED = "shared"
    """Another delivery is paired with that pickup already."""


def pairing_problem(
    key: object,
    kind: OrderKind,
    pickup: str,
    kinds: Mapping[str, OrderKind],
    taken: dict[str, object],
) -> PairingProblem | None:
    """What keeps an order's ``paired_pickup`` from being planned; the one rule every door uses.

    The gate (rows), the service (requests) and the planning model check pairings
    with it, each wording the answer for its reader.

    Parameters
    ----------
    key
        What identifies the order to its caller (an order id, a row number).
    kind
        The order's kind.
    pickup
        Its ``paired_pickup``.
    kinds
        Order id -> kind of every order the pickup may be.
    taken
        Pickup id -> ``key`` of the delivery paired with it so far; a pairing
        found sound is recorded here.

    Returns
    -------
    PairingProblem or None
        The first problem, in the order of :class:`PairingProblem`; ``None`` when sound.
    """
    if kind is not OrderKind.DELIVERY:
        return PairingProblem.ON_PICKUP
    if pickup not in kinds:
        return PairingProblem.UNKNOWN
    if kinds[pickup] is not OrderKind.PICKUP:
        return PairingProblem.NOT_PICKUP
    if taken.setdefault(pickup, key) != key:
        return PairingProblem.SHARED
    return None


@dataclass(frozen=True, slots=True)
class Address:
    """The postal address as the customer wrote it."""

    street: str = ""
    unit: str = ""
    zip: str = ""
    city: str = ""

    def __str__(self) -> str:
        street = f"{self.street} {self.unit}".strip()
        place = f"{self.zip} {self.city}".strip()
        return ", ".join(part for part in (street, place) if part)


@dataclass(frozen=True, slots=True)
class Contact:
    """How to reach the recipient."""

    name: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True, slots=True)
class Order:
    """One stop to serve.

    Parameters
    ----------
    id
        The shipper's order id, unique within a manifest.
    kind
        Delivery or pickup (return).
    location
        Where the vehicle stops.
    windows
        One or more disjoint time windows, sorted; the stop must start within one.
    service_s
        Time spent at the stop, in seconds.
    demand
        What the stop adds to (pickup) or removes from (delivery) the vehicle.
    skills
        Skills a vehicle (and its driver) must have, e.g. ``{"cold"}``.
    priority
        Higher is more important; 0 is normal.
    paired_pickup
        For a delivery that must first be collected elsewhere by the same vehicle
        (pickup-and-delivery), the id of that pickup order.
    late_cost_per_hour
        Cents per hour late. 0 (the default): the windows are hard, the stop
        must start inside one. Above 0: the end of the last window is soft, the
        stop may start after it at this cost, pro rata to the second.
    customer_id
        Who the customer is in the shipper's systems (the same id on every order
        of theirs), or ``None``. The failure-risk model reads the customer's
        delivery history by it (:mod:`doorstep.learn`); planning does not need it.
    """

    id: str
    location: Location
    kind: OrderKind = OrderKind.DELIVERY
    address: Address = field(default_factory=Address)
    windows: tuple[TimeWindow, ...] = ()
    service_s: int = 0
    demand: Load = field(default_factory=Load)
    skills: frozenset[str] = frozenset()
    priority: int = 0
    contact: Contact = field(default_factory=Contact)
    notes: str = ""
    paired_pickup: str | None = None
    late_cost_per_hour: int = 0
    customer_id: str | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise DomainError("an order needs an id")
        if self.late_cost_per_hour < 0:
            raise DomainError(f"order {self.id}: the lateness cost cannot be negative")
        if self.service_s < 0:
            raise DomainError(f"order {self.id}: service time cannot be negative")
        check_windows(self.windows, f"order {self.id}")

    @property
    def soft_windows(self) -> bool:
        """Whether the stop may start after its last window closes (at a cost)."""
        return bool(self.windows) and self.late_cost_per_hour > 0


def check_windows(windows: Sequence[TimeWindow], owner: str = "an order") -> None:
    """Check that an order's windows are sorted and disjoint.

    Each window is a :class:`TimeWindow` already, so it does not end before it
    starts; a window of one instant (end = start) is allowed.

    Parameters
    ----------
    windows
        The windows, earliest first.
    owner
        Who has them, for the message (``"order A1"``).

    Raises
    ------
    DomainError
        When two windows are out of order or share an instant.
    """
    for first, second in pairwise(windows):
        if second.start < first.start:
            raise DomainError(f"{owner}: time windows must be sorted")
        if second.start <= first.end:
            raise DomainError(f"{owner}: time windows {first} and {second} overlap")
