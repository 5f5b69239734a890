"""Service settings: environment variables (``DOORSTEP_*``) or a ``doorstep.toml`` file.

Environment variables win over the file; the file is read from the working
directory, or from the path in ``DOORSTEP_CONFIG``. Every setting has an
embedded default, so ``doorstep serve`` runs with none given: a SQLite file in
the working directory and the bundled Helsinki road network.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from doorstep.network.choose import RouterKind


class Settings(BaseSettings):
    """What the service needs to know about its surroundings."""

    model_config = SettingsConfigDict(env_prefix="DOORSTEP_", extra="forbid")

    database_url: str = "sqlite:///doorstep.db"
    """SQLAlchemy URL: ``sqlite:///path.db`` (default) or
    ``postgresql+psycopg://user:password@host:port/database``."""
    router: RouterKind = "bundled"
    """Where travel times come from: the bundled Helsinki roads, another ``.pbf``
    (``router_source`` is its path), an OSRM or Valhalla server (``router_source``
    is its URL), or straight-line estimates."""
    router_source: str = ""
    router_max_snap_m: float | None = Field(default=None, ge=0)
    """Farthest (m) a stop may lie from its road before it is reported off the
    network; unset: the router kind's default (250 m, as ``doorstep plan``)."""
    timezone: str = "Europe/Helsinki"
    """Local time of the plans' clock times (shifts, windows, ETAs)."""
    plan_time_limit_s: float = Field(default=10.0, gt=0, le=3600)
    """Default search time for a planning job."""
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    webhook_max_attempts: int = Field(default=8, ge=1)
    """Deliveries of one message before it is given up (then marked ``dead``)."""
    webhook_backoff_s: float = Field(default=2.0, gt=0)
    """First retry delay; each further retry doubles it."""
    webhook_allow_private: bool = False
    """Allow webhook URLs on loopback, private, link-local or reserved addresses.
    Off by default, so a subscription cannot make the service call into its own
    network (server-side request forgery)."""
    dispatch_webhooks: bool = True
    """Run the webhook sender inside ``doorstep serve``."""
    admin_key: str | None = Field(default=None, min_length=32)
    """An admin API key taken from the deployment's secrets (at least 32 characters),
    accepted besides the keys in the database: a way in before any key exists."""
    db_pool_size: int = Field(default=10, ge=1, le=1000)
    """Database connections each worker keeps open (SQLAlchemy's ``pool_size``)."""
    db_max_overflow: int = Field(default=20, ge=0, le=1000)
    """Connections opened beyond ``db_pool_size`` under load, closed when returned."""
    db_pool_timeout_s: float = Field(default=10.0, gt=0, le=600)
    """How long a request waits for a free connection before it is answered
    ``503 database_busy`` (with ``Retry-After``)."""
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=2**31)
    """Largest request body, for endpoints without a cap of their own (413 ``too_large``)."""
    max_events_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=2**31)
    """Largest body of ``POST /v1/events`` (a batch of 1,000 events is far below)."""
    max_bulk_body_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, le=2**31)
    """Largest body of ``POST /v1/orders/bulk``."""
    max_upload_body_bytes: int = Field(default=21 * 1024 * 1024, ge=1024, le=2**31)
    """Largest body of ``POST /v1/orders/upload``: the 20 MB file plus the form around it."""
    tracking_ttl_days: float = Field(default=30.0, ge=0, le=36500)
    """How long a tracking link works after its order ended (its last delivery,
    collection or return scan); then it answers 404 like an unknown link."""

    monitor_interval_s: float = Field(default=10.0, ge=0, le=3600)
    """Seconds between two runs of the dispatch monitor inside ``doorstep serve``
    (exceptions detected, ETAs moved with the clock); 0 turns it off."""
    late_departure_min: float = Field(default=15.0, ge=0, le=1440)
    """``late_departure``: a published route not out for delivery this many minutes
    after its planned start."""
    running_late_min: float = Field(default=5.0, ge=0, le=1440)
    """``running_late``: a stop projected to start more than this many minutes after
    its window closes (or a route back this much after its shift end)."""
    missed_scan_grace_min: float = Field(default=15.0, ge=0, le=1440)
    """``missed_scan``: how long a scan may be late before it counts as missed."""
    prolonged_stop_factor: float = Field(default=3.0, ge=1, le=100)
    """``prolonged_stop``: a stop taking more than this many times its planned service
    time (and at least ``prolonged_stop_min`` minutes more than it)."""
    prolonged_stop_min: float = Field(default=10.0, ge=0, le=1440)
    eta_notice_min: float = Field(default=15.0, ge=0, le=1440)
    """An ``eta.changed`` webhook goes out when a customer's ETA moves by more than
    this many minutes."""
    replan_time_limit_s: float = Field(default=0.5, gt=0, le=600)
    """Search time of each re-planning proposal (a breakdown, a hand-over)."""
    max_attempts: int = Field(default=3, ge=1, le=20)
    """Delivery attempts of an order; after the last failed one its parcels are
    marked for return to sender instead of being planned again."""
    redelivery_priority: int = Field(default=10, ge=0, le=1000)
    """Priority added to an order planned again after a failed attempt, so the next
    plan serves it first."""
    risk_model: str = ""
    """Path of a failure-risk model (``doorstep risk train --out``): slot offers
    then predict each slot's chance of success from it; empty: one rate for all."""
    session_secret: str | None = Field(default=None, min_length=32)
    """Key that signs the web pages' session cookies and form tokens (at least 32
    characters, from the deployment's secrets). Unset on SQLite: one is generated and
    kept in ``<database>.session-secret`` beside the file; unset on PostgreSQL: the
    web pages refuse to work until it is set (the JSON API is not affected)."""
    session_max_age_s: int = Field(default=12 * 3600, ge=60, le=30 * 86_400)
    """How long a sign-in lasts (seconds; the cookie's ``Max-Age`` and the signed expiry)."""
    session_cookie_secure: bool = False
    """Always mark the session cookie ``Secure`` (it is whenever the request came over
    https); turn on behind a TLS proxy that does not forward the scheme."""
    auto_accept: list[str] = Field(default_factory=list)
    """Playbooks whose proposals are accepted without asking (for example
    ``["notify_customers"]``); none by default."""
    parallel: Literal["ray", "serial"] = "ray"
    """How the sub-problems of a big or multi-depot day run: as Ray tasks (a local
    Ray started in this process when first needed, or the cluster at
    ``ray_address``), or one after the other in this process. See docs/scale.md."""
    ray_address: str = ""
    """A Ray cluster's address (``HEAD_IP:6379``) for those sub-problems; empty: a
    local Ray on this machine's cores. The cluster's token comes from Ray's own
    ``RAY_AUTH_TOKEN`` or ``RAY_AUTH_TOKEN_PATH`` (see docs/scale.md)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then environment, then ``doorstep.toml``."""
        toml = Path(os.environ.get("DOORSTEP_CONFIG", "doorstep.toml"))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml),
        )
