"""Doorstep: an open-source last-mile delivery platform.

The public library API is re-exported here; ``docs/library.md`` is its guide.

* Files: :func:`validate`, :func:`validate_files` (the gate), :func:`read_orders`,
  :func:`read_fleet`, and :func:`plan_day` (gate + planning in one call).
* Code: :class:`Model` builds a day (depots, vehicles, orders, optional matrices)
  and :meth:`Model.solve` plans it into a :class:`Result`; :func:`evaluate`
  checks any plan given as vehicle id -> order ids.
* The domain types, :class:`PlanOptions`, :class:`Objective`, :class:`Lock`,
  and the error classes (every one has a stable ``code``).

Solver libraries (PyVRP, OR-Tools, VROOM) and road-network code load on first
use, not on ``import doorstep``.
"""

__version__ = "0.1.0"  # first, so modules imported below may read it

from doorstep.dispatch.day import DayState, RequestNow, RouteNow, StopNow
from doorstep.dispatch.exceptions import DayException, ExceptionKind, Thresholds, detect
from doorstep.dispatch.playbooks import DispatchContext, ProposalDraft, propose
from doorstep.domain.finding import Finding, Severity
from doorstep.domain.fleet import UNLIMITED, Break, Costs, Depot, Fleet, Profile, Vehicle
from doorstep.domain.load import Load
from doorstep.domain.location import Location
from doorstep.domain.order import Address, Contact, Order, OrderKind
from doorstep.domain.plan import Plan, Route, Unassigned, Visit
from doorstep.domain.time_window import TimeWindow
from doorstep.errors import (
    CorruptFileError,
    DomainError,
    DoorstepError,
    EmptyInputError,
    InputError,
    InstanceFormatError,
    InvalidTransitionError,
    NoRecognisedColumnsError,
    RoadNetworkError,
    RouterError,
    RouterUnavailableError,
    UnsupportedFormatError,
)
from doorstep.gate import GateSettings, Report, validate, validate_files
from doorstep.plan.day import plan_day
from doorstep.plan.evaluator import Evaluation, Kpis, Violation
from doorstep.plan.library import evaluate, read_fleet, read_orders
from doorstep.plan.model import Model, Result
from doorstep.plan.pipeline import PlanOptions
from doorstep.plan.problem import Lock, Objective, Problem
from doorstep.plan.result import DayPlan

__all__ = [
    "UNLIMITED",
    "Address",
    "Break",
    "Contact",
    "CorruptFileError",
    "Costs",
    "DayException",
    "DayPlan",
    "DayState",
    "Depot",
    "DispatchContext",
    "DomainError",
    "DoorstepError",
    "EmptyInputError",
    "Evaluation",
    "ExceptionKind",
    "Finding",
    "Fleet",
    "GateSettings",
    "InputError",
    "InstanceFormatError",
    "InvalidTransitionError",
    "Kpis",
    "Load",
    "Location",
    "Lock",
    "Model",
    "NoRecognisedColumnsError",
    "Objective",
    "Order",
    "OrderKind",
    "Plan",
    "PlanOptions",
    "Problem",
    "Profile",
    "ProposalDraft",
    "Report",
    "RequestNow",
    "Result",
    "RoadNetworkError",
    "Route",
    "RouteNow",
    "RouterError",
    "RouterUnavailableError",
    "Severity",
    "StopNow",
    "Thresholds",
    "TimeWindow",
    "Unassigned",
    "UnsupportedFormatError",
    "Vehicle",
    "Violation",
    "Visit",
    "__version__",
    "detect",
    "evaluate",
    "plan_day",
    "propose",
    "read_fleet",
    "read_orders",
    "validate",
    "validate_files",
]
