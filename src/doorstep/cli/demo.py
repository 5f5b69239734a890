"""``doorstep serve --demo``: a fresh database with the Helsinki sample day planned and published.

:func:`set_up_demo` does the setting up (the server loop is ``doorstep serve``'s):
a new SQLite file in a folder, the sample's fleet stored (one driver per
vehicle), its orders imported through the gate as ``POST /v1/orders/upload``
does, the day planned by the service's own planning job and published as
``POST /v1/plans/{id}/publish`` does, and one account per role with a random
password.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from doorstep.api.security import Role
from doorstep.domain.plan_states import PlanStatus
from doorstep.errors import InputError
from doorstep.gate import validate_files
from doorstep.io.tables import read_table
from doorstep.service import orders as order_rules
from doorstep.service import plans as plan_rules
from doorstep.service.accounts import create_account
from doorstep.service.planning import PlanningJobs, PlanRequest
from doorstep.settings import Settings
from doorstep.store import tables as t
from doorstep.store.convert import vehicle_row
from doorstep.store.database import make_engine, session_factory, transaction, upgrade
from doorstep.store.queries import plans as plan_queries

SAMPLE = Path("examples") / "helsinki"
"""The sample day, from the repository's root (the working directory, or the source tree's)."""
DRIVER_NAMES = ("Aino", "Eero", "Helmi", "Ilmari", "Kaarina", "Lauri", "Minna", "Onni", "Saara")
DEMO_ROLES = (Role.ADMIN, Role.PLANNER, Role.DISPATCHER, Role.DRIVER)
DEMO_TIME_LIMIT_S = 10.0
"""Longest search the demo's plan gets (less when the settings say less)."""


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """A demo account: its role, username and password (printed once, never stored)."""

    role: str
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class Demo:
    """What :func:`set_up_demo` made."""

    database_url: str
    day: date
    plan_id: str
    orders: int
    routes: int
    accounts: tuple[DemoAccount, ...]


def sample_folder(given: Path | None = None) -> Path:
    """The sample day's folder: ``given``, else ``examples/helsinki`` here or in the source tree.

    Raises
    ------
    InputError
        When it has no ``orders.csv`` and ``fleet.csv``.
    """
    candidates = [given] if given is not None else [SAMPLE, Path(__file__).parents[3] / SAMPLE]
    for folder in candidates:
        if (folder / "orders.csv").is_file() and (folder / "fleet.csv").is_file():
            return folder
    raise InputError(
        f"no sample day (orders.csv and fleet.csv) in {candidates[0]}",
        hint="Run from the repository's root, or give --demo-data FOLDER.",
    )


def _store_fleet(settings_url: str, fleet_file: Path, orders_file: Path) -> None:
    report = validate_files(orders_file, fleet_file)
    fleet = report.fleet
    if fleet is None or not fleet.vehicles:
        raise InputError(f"{fleet_file}: no vehicle could be read")
    engine = make_engine(settings_url)
    try:
        with transaction(session_factory(engine)) as db:
            for depot in fleet.depots:
                db.add(
                    t.Depot(
                        id=depot.id,
                        name=depot.name or depot.id,
                        lat=depot.location.lat,
                        lon=depot.location.lon,
                    )
                )
            db.flush()
            for vehicle in fleet.vehicles:
                db.add(vehicle_row(vehicle))
            db.flush()
            for k, vehicle in enumerate(fleet.vehicles):
                name = DRIVER_NAMES[k % len(DRIVER_NAMES)]
                db.add(t.Driver(id=f"drv-{k + 1}", name=name, vehicle_id=vehicle.id))
    finally:
        engine.dispose()


def set_up_demo(
    folder: Path,
    settings: Settings,
    sample: Path | None = None,
    day: date | None = None,
) -> Demo:
    """Make the demo's database in ``folder``: the sample day planned and published, accounts.

    Parameters
    ----------
    folder
        Where the SQLite file (``doorstep.db``) goes; it must not hold one already.
    settings
        The service's settings (router, time zone, plan time limit); their
        database URL is replaced by the new file's.
    sample
        The sample day's folder (``orders.csv``, ``fleet.csv``); default
        :func:`sample_folder`.
    day
        The day planned; default today in the settings' time zone.

    Returns
    -------
    Demo
        The database's URL, the plan, and the accounts with their passwords.

    Raises
    ------
    InputError
        A database already in ``folder``, no sample, or a plan that failed.
    """
    data = sample_folder(sample)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "doorstep.db"
    if path.exists():
        raise InputError(
            f"{path} exists already", hint="Give an empty folder (--demo-dir) or none."
        )
    url = f"sqlite:///{path.resolve()}"
    settings = settings.model_copy(update={"database_url": url})
    upgrade(url)
    _store_fleet(url, data / "fleet.csv", data / "orders.csv")
    chosen = day or datetime.now(ZoneInfo(settings.timezone)).date()
    engine = make_engine(url)
    sessions = session_factory(engine)
    try:
        with transaction(sessions) as db:
            imported = order_rules.import_orders(db, read_table(data / "orders.csv"))
            limit = min(settings.plan_time_limit_s, DEMO_TIME_LIMIT_S)
            plan = plan_rules.queue_plan(db, chosen, PlanRequest(time_limit_s=limit))
            plan_id = plan.id
        jobs = PlanningJobs(sessions, settings)
        try:
            jobs.run(plan_id)
        finally:
            jobs.shutdown()
        with transaction(sessions) as db:
            row = db.get(t.Plan, plan_id, with_for_update=True)
            if row is None or row.status != PlanStatus.DONE.value:
                error = "no plan" if row is None else row.error
                raise InputError(f"the demo day could not be planned: {error}")
            plan_rules.publish(db, row, {})
            routes = plan_queries.routes_of(db, plan_id)
            accounts = []
            for role in DEMO_ROLES:
                password = secrets.token_urlsafe(12)
                username = f"demo-{role.value}"
                driver_id = routes[0].driver_id if role is Role.DRIVER else None
                create_account(
                    db,
                    username,
                    role,
                    password,
                    display_name=f"Demo {role.value}",
                    driver_id=driver_id,
                )
                accounts.append(DemoAccount(role.value, username, password))
    finally:
        engine.dispose()
    return Demo(url, chosen, plan_id, len(imported.orders), len(routes), tuple(accounts))
