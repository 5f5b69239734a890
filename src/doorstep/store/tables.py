"""The service's tables (SQLAlchemy 2). Alembic migrations in ``migrations/`` create them.

Units follow :mod:`doorstep.units`: seconds, metres, grams, millilitres, cents.
Clock times of a plan (shifts, windows, planned times) are seconds after
midnight of the plan's day in the service's time zone; moments (event times,
ETAs, deliveries) are timezone-aware datetimes stored in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from doorstep.domain.ids import ID_MAX_LENGTH

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored in UTC on every database (SQLite has no zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store in UTC; naive datetimes are refused."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a timezone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Read back as UTC, aware."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


IdKey = Annotated[str, mapped_column(String(ID_MAX_LENGTH), primary_key=True)]
"""The primary key of a depot, vehicle, driver or order: an id by the domain's rule
(:mod:`doorstep.domain.ids`), so the column is as long as the longest valid id."""

CreatedAt = Annotated[datetime, mapped_column(default=utcnow)]
"""When a row was made (UTC)."""


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (for migrations)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class ApiKey(Base):
    """An API key: only its SHA-256 is stored; the role decides what it may do."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")
    driver_id: Mapped[str | None] = mapped_column(ForeignKey("drivers.id"), default=None)
    tenant: Mapped[str | None] = mapped_column(String(ID_MAX_LENGTH), default=None)
    """The shop an integration key works for (its orders, parcels, events, webhooks);
    ``None`` for the depot's own keys (admin, planner, dispatcher, driver), which see
    every tenant."""
    created_at: Mapped[CreatedAt]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Account(Base):
    """A person who signs in to the web pages: a role, and a password stored as a scrypt hash."""

    __tablename__ = "accounts"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    """Lower case; what the person types to sign in."""
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    """admin, planner, dispatcher or driver (:class:`doorstep.api.security.Role`)."""
    driver_id: Mapped[str | None] = mapped_column(ForeignKey("drivers.id"), default=None)
    """The driver a driver account is (it sees only that driver's routes)."""
    password_hash: Mapped[str] = mapped_column(String(255))
    """``scrypt$n$r$p$salt$hash`` (:mod:`doorstep.service.accounts`)."""
    created_at: Mapped[CreatedAt]
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    """A disabled account cannot sign in, and its open sessions stop working."""


class Depot(Base):
    """Where vehicles start and end."""

    __tablename__ = "depots"
    id: Mapped[IdKey]
    name: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    created_at: Mapped[CreatedAt]


class Vehicle(Base):
    """A vehicle of the fleet, as in the fleet file (shift and break in clock seconds)."""

    __tablename__ = "vehicles"
    id: Mapped[IdKey]
    depot_id: Mapped[str] = mapped_column(ForeignKey("depots.id"))
    profile: Mapped[str] = mapped_column(String(16), default="van")
    capacity_parcels: Mapped[int] = mapped_column(Integer, default=0)
    capacity_g: Mapped[int] = mapped_column(BigInteger, default=0)
    capacity_ml: Mapped[int] = mapped_column(BigInteger, default=0)
    shift_start_s: Mapped[int] = mapped_column(Integer, default=8 * 3600)
    shift_end_s: Mapped[int] = mapped_column(Integer, default=17 * 3600)
    max_duration_s: Mapped[int | None] = mapped_column(Integer, default=None)
    break_start_s: Mapped[int | None] = mapped_column(Integer, default=None)
    break_end_s: Mapped[int | None] = mapped_column(Integer, default=None)
    break_s: Mapped[int | None] = mapped_column(Integer, default=None)
    cost_fixed: Mapped[int] = mapped_column(Integer, default=0)
    cost_per_km: Mapped[int] = mapped_column(Integer, default=0)
    cost_per_hour: Mapped[int] = mapped_column(Integer, default=0)
    skills: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[CreatedAt]


class Driver(Base):
    """A driver; published routes are assigned to drivers."""

    __tablename__ = "drivers"
    id: Mapped[IdKey]
    name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    vehicle_id: Mapped[str | None] = mapped_column(ForeignKey("vehicles.id"), default=None)
    created_at: Mapped[CreatedAt]


class Order(Base):
    """An order as imported; ``status`` follows its parcels' scan events."""

    __tablename__ = "orders"
    id: Mapped[IdKey]
    kind: Mapped[str] = mapped_column(String(16), default="delivery")
    street: Mapped[str] = mapped_column(String(300), default="")
    unit: Mapped[str] = mapped_column(String(100), default="")
    zip: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    windows: Mapped[list[Any]] = mapped_column(default=list)
    """``[[start_s, end_s], ...]``, seconds after midnight."""
    service_s: Mapped[int] = mapped_column(Integer, default=0)
    parcels: Mapped[int] = mapped_column(Integer, default=1)
    weight_g: Mapped[int] = mapped_column(BigInteger, default=0)
    volume_ml: Mapped[int] = mapped_column(BigInteger, default=0)
    skills: Mapped[list[Any]] = mapped_column(default=list)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    late_cost_per_hour: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    paired_pickup: Mapped[str | None] = mapped_column(String(100), default=None)
    customer_id: Mapped[str | None] = mapped_column(String(100), default=None)
    """The shipper's customer id (the failure-risk model's key); ``None`` when not given
    (and for orders stored before migration 0007)."""
    findings: Mapped[list[Any]] = mapped_column(default=list)
    """The gate's findings on the row the order came from (warnings it was accepted
    with): ``{"code", "severity", "field", "message"}`` each."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Failed attempts at the door (failed_attempt scans); the next is ``attempts + 1``."""
    tracking_token: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(24), default="created")
    tenant: Mapped[str | None] = mapped_column(String(ID_MAX_LENGTH), default=None, index=True)
    """The shop whose integration key made the order (only that shop's keys see it);
    ``None`` for a depot-wide order (made by a planner, or before migration 0003)."""
    created_at: Mapped[CreatedAt]


class Parcel(Base):
    """One scannable item of an order; its ``state`` is the fold of its events."""

    __tablename__ = "parcels"
    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    state: Mapped[str] = mapped_column(String(24), default="created")
    state_at: Mapped[datetime | None] = mapped_column(default=None)
    """Event time of the latest event folded."""


class Plan(Base):
    """A planning job and, once done, its result (the ``plan.json`` document)."""

    __tablename__ = "plans"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[str] = mapped_column(String(10))
    """ISO date the plan's clock times belong to."""
    status: Mapped[str] = mapped_column(String(16), default="queued")
    """queued, running, done, failed, published."""
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    best_cost: Mapped[float | None] = mapped_column(Float, default=None)
    request: Mapped[dict[str, Any]] = mapped_column(default=dict)
    document: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[CreatedAt]
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    published_at: Mapped[datetime | None] = mapped_column(default=None)


class Route(Base):
    """A planned route; published, it belongs to a driver."""

    __tablename__ = "routes"
    id: Mapped[str] = mapped_column(String(160), primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    vehicle_id: Mapped[str] = mapped_column(String(100))
    driver_id: Mapped[str | None] = mapped_column(ForeignKey("drivers.id"), default=None)
    day: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(16), default="planned")
    """planned, published, in_progress, completed."""
    start_s: Mapped[int] = mapped_column(Integer)
    end_s: Mapped[int] = mapped_column(Integer)
    distance_m: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, default=1)
    """1 as planned; each accepted change makes a new route row with the next version."""
    replaces: Mapped[str | None] = mapped_column(String(160), default=None)
    """The route id this version replaced (None for version 1)."""
    replaced_by: Mapped[str | None] = mapped_column(String(160), default=None)
    """The route id of the version that replaced this one (its state is then ``superseded``)."""


class Stop(Base):
    """A visit on a route: planned times, the current ETA and what happened."""

    __tablename__ = "stops"
    __table_args__ = (UniqueConstraint("route_id", "seq"), Index(None, "order_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    route_id: Mapped[str] = mapped_column(ForeignKey("routes.id"))
    seq: Mapped[int] = mapped_column(Integer)
    """1 for the first stop."""
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"))
    leg_s: Mapped[int] = mapped_column(Integer)
    """Driving time from the previous stop (or the depot)."""
    service_s: Mapped[int] = mapped_column(Integer)
    window_start_s: Mapped[int | None] = mapped_column(Integer, default=None)
    window_end_s: Mapped[int | None] = mapped_column(Integer, default=None)
    planned_arrival_s: Mapped[int] = mapped_column(Integer)
    planned_start_s: Mapped[int] = mapped_column(Integer)
    eta_s: Mapped[int] = mapped_column(Integer)
    notified_eta_s: Mapped[int | None] = mapped_column(Integer, default=None)
    """The ETA the customer was last told of by ``eta.changed`` (None: the planned arrival)."""
    """Current estimate of the arrival, seconds after midnight of the route's day."""
    state: Mapped[str] = mapped_column(String(16), default="pending")
    """pending, arrived, done, failed."""
    arrived_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class Event(Base):
    """An accepted scan event (rejected ones are only reported back)."""

    __tablename__ = "events"
    __table_args__ = (Index(None, "parcel_id", "at"), Index(None, "at"))
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(120), unique=True)
    parcel_id: Mapped[str] = mapped_column(ForeignKey("parcels.id"))
    kind: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    vehicle_id: Mapped[str | None] = mapped_column(String(100), default=None)
    lat: Mapped[float | None] = mapped_column(Float, default=None)
    lon: Mapped[float | None] = mapped_column(Float, default=None)
    failure_reason: Mapped[str | None] = mapped_column(String(24), default=None)
    proof: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    key_id: Mapped[str | None] = mapped_column(String(32), default=None)


class WebhookSubscription(Base):
    """A shop's endpoint and the event types it wants."""

    __tablename__ = "webhook_subscriptions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[Any]] = mapped_column(default=list)
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    owner_key_id: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    """The integration key that made it (only that key sees it; admins see all).
    None for subscriptions made before migration 0002 or by the settings' admin key."""
    tenant: Mapped[str | None] = mapped_column(String(ID_MAX_LENGTH), default=None)
    """The owner key's tenant: the subscription receives messages about that tenant's
    orders only. ``None`` (an admin's, or older): every message."""
    created_at: Mapped[CreatedAt]


class OutboxMessage(Base):
    """A webhook message written in the same transaction as its cause, sent later."""

    __tablename__ = "outbox"
    __table_args__ = (Index(None, "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    event_type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(12), default="pending")
    """pending, sending (claimed by a sender until its lease ends), sent, dead."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[CreatedAt]


class WebhookDelivery(Base):
    """One attempt to deliver an outbox message: the delivery log."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Incident(Base):
    """A breakdown or accident reported on a route: the vehicle cannot go on."""

    __tablename__ = "incidents"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    route_id: Mapped[str] = mapped_column(ForeignKey("routes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column()
    note: Mapped[str] = mapped_column(Text, default="")
    key_id: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[CreatedAt]


class CustomerRequest(Base):
    """A change asked by the customer (tracking link) or the shop (integration key)."""

    __tablename__ = "customer_requests"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    """time_window, another_day, safe_place, neighbour or address."""
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(String(16))
    """customer (tracking token) or shop (integration key)."""
    status: Mapped[str] = mapped_column(String(16), default="open")
    """open, done (a proposal was accepted) or refused."""
    created_at: Mapped[CreatedAt]


class DispatchException(Base):
    """Something of the day that went wrong, detected from the events and the clock."""

    __tablename__ = "exceptions"
    __table_args__ = (Index(None, "day", "status"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(24))
    cause: Mapped[str] = mapped_column(String(300))
    """What makes two detections the same exception (one open exception per cause)."""
    severity: Mapped[str] = mapped_column(String(8))
    route_id: Mapped[str | None] = mapped_column(String(160), default=None)
    order_ids: Mapped[list[Any]] = mapped_column(default=list)
    parcel_ids: Mapped[list[Any]] = mapped_column(default=list)
    sentence: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")
    """open, acknowledged or resolved."""
    first_seen: Mapped[datetime] = mapped_column()
    last_seen: Mapped[datetime] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    history: Mapped[list[Any]] = mapped_column(default=list)
    """The audit trail: ``{"at", "what", "by"}`` entries, oldest first."""


class Proposal(Base):
    """A change to the published routes that would answer an exception, with its cost."""

    __tablename__ = "proposals"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    exception_id: Mapped[str] = mapped_column(ForeignKey("exceptions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    sentence: Mapped[str] = mapped_column(Text)
    change: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """What accepting does: new stop sequences per route, notices, orders put off."""
    delta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """The cost delta by the evaluator (km, duty minutes, late stops...)."""
    basis: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Route id -> version it was computed on: another version since makes it stale."""
    status: Mapped[str] = mapped_column(String(16), default="open")
    """open, accepted, rejected or stale."""
    created_at: Mapped[CreatedAt]


class Decision(Base):
    """The decision log: who accepted or rejected which proposal, when and why."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[str] = mapped_column(String(10), index=True)
    exception_id: Mapped[str] = mapped_column(String(40))
    proposal_id: Mapped[str] = mapped_column(String(40))
    decision: Mapped[str] = mapped_column(String(16))
    """accepted, rejected or automatic."""
    key_id: Mapped[str | None] = mapped_column(String(32), default=None)
    reason: Mapped[str] = mapped_column(Text, default="")
    delta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)
