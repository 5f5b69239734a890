"""The domain model: plain dataclasses with no I/O."""

from doorstep.domain.events import (
    FailureReason,
    ParcelState,
    Proof,
    ScanEvent,
    ScanKind,
    fold,
    next_state,
)
from doorstep.domain.finding import Finding, Severity
from doorstep.domain.fleet import UNLIMITED, Break, Costs, Depot, Fleet, Profile, Vehicle
from doorstep.domain.instance import Instance, Metric
from doorstep.domain.load import Load
from doorstep.domain.location import Location
from doorstep.domain.order import Address, Contact, Order, OrderKind
from doorstep.domain.plan import Plan, Route, Unassigned, Visit
from doorstep.domain.time_window import TimeWindow

__all__ = [
    "UNLIMITED",
    "Address",
    "Break",
    "Contact",
    "Costs",
    "Depot",
    "FailureReason",
    "Finding",
    "Fleet",
    "Instance",
    "Load",
    "Location",
    "Metric",
    "Order",
    "OrderKind",
    "ParcelState",
    "Plan",
    "Profile",
    "Proof",
    "Route",
    "ScanEvent",
    "ScanKind",
    "Severity",
    "TimeWindow",
    "Unassigned",
    "Vehicle",
    "Visit",
    "fold",
    "next_state",
]
