"""Planning jobs: a plan is solved in the background and its result stored.

``POST /v1/plans`` stores a plan row (status ``queued``) and hands its id to
:class:`PlanningJobs`, which runs one job at a time on a worker thread::

    queued -> running -> done -> published      (publishing is a person's act)
              running -> failed

A job reads the orders to plan and the fleet from the database
(:mod:`doorstep.store.queries.plans`), runs the one planning pipeline
(:func:`~doorstep.plan.pipeline.plan_orders`, the same as ``doorstep plan``),
writes its progress into the plan row while it searches, and stores the result
in one transaction: the ``plan.json`` document, a ``Route`` row per route, a
``Stop`` row per visit and the ``plan.done`` webhook. A job that cannot plan
stores ``failed`` with a sentence saying why, and queues ``plan.failed``.

Nothing lives only in memory: after a restart, done plans are in the database.
Each plan records the process that owns its job
(:class:`~doorstep.service.owner.Owner`, stored as the request's ``"worker"``),
so that with several service processes (``doorstep serve --workers N``)
:meth:`PlanningJobs.recover` marks only the plans
whose process is gone as failed ("interrupted by a restart"), not those another
live process is running or has queued.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from doorstep.domain.plan_states import PlanStatus
from doorstep.errors import DoorstepError, InputError
from doorstep.network.choose import open_provider
from doorstep.network.provider import TravelTimeProvider
from doorstep.notify.outbox import enqueue
from doorstep.plan.outputs.plan_json import plan_document
from doorstep.plan.pipeline import PlanOptions, plan_orders
from doorstep.plan.problem import Lock, Objective
from doorstep.plan.result import DayPlan
from doorstep.plan.solver import Progress
from doorstep.service.owner import OWNER_KEY, Owner, orphaned
from doorstep.settings import Settings
from doorstep.store import tables as t
from doorstep.store.database import transaction
from doorstep.store.queries.plans import load_fleet, load_orders, save_routes

__all__ = [
    "INTERRUPTED_BY_RESTART",
    "INTERRUPTED_BY_SHUTDOWN",
    "OWNER_KEY",
    "Owner",
    "PlanRequest",
    "PlanStatus",
    "PlanningInterruptedError",
    "PlanningJobs",
    "ProgressWriter",
    "owned_request",
    "provider_for",
]

log = logging.getLogger("doorstep.planning")

INTERRUPTED_BY_RESTART = "interrupted by a restart"
"""The error of a plan that was queued or running when the service stopped unexpectedly."""

INTERRUPTED_BY_SHUTDOWN = "interrupted by a shutdown"
"""The error of a plan whose search was stopped because the service shut down."""

REPORT_EVERY_S = 0.5
"""Least time between two progress writes to a plan row (at most two a second)."""


class PlanningInterruptedError(Exception):
    """Raised inside a search to abandon it (the service is shutting down)."""


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """What a planning job was asked to do (stored as the plan row's ``request``).

    Which orders (``order_ids``; ``None``: every order with status ``created``,
    and every failed delivery with attempts left, that has no stop to serve on
    a published route) and which vehicles (``vehicle_ids``; ``None``:
    all of them), and how to search: ``objective``, ``seed`` and
    ``max_iterations`` as in :class:`~doorstep.plan.pipeline.PlanOptions`,
    ``time_limit_s`` (``None``: the service's ``plan_time_limit_s``), ``locks``
    (orders a person pinned to a vehicle) and ``warm_start`` (a previous plan to
    start from: vehicle id -> order ids in visiting order).
    :meth:`options` turns it into the pipeline's options.
    """

    order_ids: tuple[str, ...] | None = None
    vehicle_ids: tuple[str, ...] | None = None
    objective: Objective = Objective.COST
    time_limit_s: float | None = None
    seed: int = 0
    max_iterations: int | None = None
    locks: tuple[Lock, ...] = ()
    warm_start: Mapping[str, tuple[str, ...]] | None = None

    def as_json(self) -> dict[str, Any]:
        """The request as JSON-ready data.

        Returns
        -------
        dict
            The attributes, with tuples as lists and the objective as its name.
        """
        return {
            "order_ids": None if self.order_ids is None else list(self.order_ids),
            "vehicle_ids": None if self.vehicle_ids is None else list(self.vehicle_ids),
            "objective": self.objective.value,
            "time_limit_s": self.time_limit_s,
            "seed": self.seed,
            "max_iterations": self.max_iterations,
            "locks": [
                {"order_id": k.order_id, "vehicle_id": k.vehicle_id, "position": k.position}
                for k in self.locks
            ],
            "warm_start": None
            if self.warm_start is None
            else {v: list(ids) for v, ids in self.warm_start.items()},
        }

    def options(self, time_limit_s: float) -> PlanOptions:
        """The pipeline's options for this request (no route geometry: the service draws no map).

        Parameters
        ----------
        time_limit_s
            The search's time limit (the request's, or the service's default).

        Returns
        -------
        PlanOptions
            Objective, seed, iterations, the time limit, locks and warm start.
        """
        return PlanOptions(
            objective=self.objective,
            time_limit_s=time_limit_s,
            seed=self.seed,
            max_iterations=self.max_iterations,
            locks=self.locks,
            warm_start=self.warm_start,
            with_geometry=False,
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlanRequest:
        """The request stored as ``data`` (the inverse of :meth:`as_json`).

        Parameters
        ----------
        data
            A plan row's ``request``; missing keys take their defaults.

        Returns
        -------
        PlanRequest
            The request.

        Raises
        ------
        ValueError
            For an unknown objective.
        TypeError, KeyError
            For locks or a warm start of the wrong shape.
        """
        orders = data.get("order_ids")
        vehicles = data.get("vehicle_ids")
        limit = data.get("time_limit_s")
        iterations = data.get("max_iterations")
        warm = data.get("warm_start")
        return cls(
            order_ids=None if orders is None else tuple(str(i) for i in orders),
            vehicle_ids=None if vehicles is None else tuple(str(i) for i in vehicles),
            objective=Objective(data.get("objective", Objective.COST.value)),
            time_limit_s=None if limit is None else float(limit),
            seed=int(data.get("seed", 0)),
            max_iterations=None if iterations is None else int(iterations),
            locks=tuple(
                Lock(
                    str(k["order_id"]),
                    str(k["vehicle_id"]),
                    None if k.get("position") is None else int(k["position"]),
                )
                for k in data.get("locks") or ()
            ),
            warm_start=None
            if warm is None
            else {str(v): tuple(str(i) for i in ids) for v, ids in warm.items()},
        )


def owned_request(request: PlanRequest, owner: Owner | None = None) -> dict[str, Any]:
    """A plan row's ``request``: what is asked, and the process that will run it.

    Parameters
    ----------
    request
        What the job is asked to do.
    owner
        The process the plan is submitted to; default: this process.

    Returns
    -------
    dict
        :meth:`PlanRequest.as_json` with the owner under ``"worker"``.
    """
    return request.as_json() | {OWNER_KEY: (owner or Owner.current()).as_json()}


def provider_for(settings: Settings) -> TravelTimeProvider:
    """The travel-time provider the service's settings name.

    Parameters
    ----------
    settings
        ``router`` picks the provider; ``router_source`` is the ``.pbf`` path
        (``pbf``) or the server URL (``osrm``, ``valhalla``); ``router_max_snap_m``
        overrides the kind's snapping limit (the same default as the CLI's).

    Returns
    -------
    TravelTimeProvider
        Bundled Helsinki roads, another OpenStreetMap file, an OSRM or Valhalla
        server, or straight-line estimates.

    Raises
    ------
    InputError
        ``router_source`` is missing, the ``.pbf`` file does not exist, or the
        server URL is not an http(s) URL.
    """
    return open_provider(
        settings.router,
        settings.router_source,
        option="router_source",
        max_snap_m=settings.router_max_snap_m,
    )


class ProgressWriter:
    """A solver progress callback that writes progress and best cost into a plan row.

    Parameters
    ----------
    sessions
        Where the plan row is.
    plan_id
        The plan.
    time_limit_s
        The search's time limit: progress is elapsed time over it (capped below 1;
        only a finished plan is at 1).
    stopping
        Set when the search must be abandoned: the next call raises
        :class:`PlanningInterruptedError`.
    every_s
        Least time between two writes; calls in between are dropped.
    clock
        Monotonic seconds (a parameter for tests).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        plan_id: str,
        time_limit_s: float,
        stopping: threading.Event | None = None,
        every_s: float = REPORT_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.plan_id = plan_id
        self.time_limit_s = time_limit_s
        self.stopping = stopping or threading.Event()
        self.every_s = every_s
        self.clock = clock
        self.last_write = -math.inf
        self.writes = 0

    def __call__(self, progress: Progress) -> None:
        """Record ``progress`` unless the last write was less than ``every_s`` ago.

        Raises
        ------
        PlanningInterruptedError
            When ``stopping`` is set.
        """
        if self.stopping.is_set():
            raise PlanningInterruptedError(INTERRUPTED_BY_SHUTDOWN)
        now = self.clock()
        if now - self.last_write < self.every_s:
            return
        self.last_write = now
        values: dict[str, Any] = {
            "progress": min(max(progress.elapsed_s / self.time_limit_s, 0.0), 0.99)
        }
        if progress.best_cost is not None and math.isfinite(progress.best_cost):
            values["best_cost"] = progress.best_cost
        try:
            with transaction(self.sessions) as db:
                db.execute(
                    update(t.Plan)
                    .where(t.Plan.id == self.plan_id, t.Plan.status == PlanStatus.RUNNING.value)
                    .values(**values)
                )
            self.writes += 1
        except SQLAlchemyError:
            log.warning("could not record the progress of plan %s", self.plan_id, exc_info=True)


class PlanningJobs:
    """Runs planning jobs one at a time on a worker thread.

    A service process has one; the plans submitted to it are owned by the
    process (:class:`Owner`, recorded by :func:`owned_request` when the plan row
    is made).

    Parameters
    ----------
    sessions
        Sessions on the service's database.
    settings
        The service's settings: router, default time limit, and for failed
        deliveries planned again ``max_attempts`` and ``redelivery_priority``
        (added to their priority, so the plan serves them first).
    provider
        Travel times; by default built from ``settings`` by :func:`provider_for`
        when the first job needs it (and kept, with its caches, for the next).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        provider: TravelTimeProvider | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self._provider = provider
        self._stopping = threading.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="doorstep-planning")
        self._lock = threading.Lock()
        self._submitted: list[tuple[str, Future[None]]] = []

    def submit(self, plan_id: str) -> Future[None]:
        """Plan ``plan_id`` in the background; the plan row must be committed first.

        After :meth:`shutdown` the plan is failed ("interrupted by a shutdown") at once.

        Parameters
        ----------
        plan_id
            A plan with status ``queued``.

        Returns
        -------
        Future
            Done when the job has stored its outcome.
        """
        with self._lock:
            if not self._stopping.is_set():
                future = self._executor.submit(self.run, plan_id)
                self._submitted = [(p, f) for p, f in self._submitted if not f.done()]
                self._submitted.append((plan_id, future))
                return future
        self._fail(plan_id, INTERRUPTED_BY_SHUTDOWN)
        refused: Future[None] = Future()
        refused.set_result(None)
        return refused

    def shutdown(self, wait: bool = True) -> None:
        """Stop: abandon the running search and drop the queued jobs; their plans fail.

        The running plan and the queued ones fail with "interrupted by a shutdown"
        (the running one once its search notices, which ``wait`` waits for), so
        no plan is left queued by a process that is still alive.

        Parameters
        ----------
        wait
            Return only when the worker thread has finished.
        """
        with self._lock:
            self._stopping.set()
            self._executor.shutdown(wait=False, cancel_futures=True)
            dropped = [p for p, f in self._submitted if f.cancelled()]
            self._submitted = []
        for plan_id in dropped:
            self._fail(plan_id, INTERRUPTED_BY_SHUTDOWN)
        if wait:
            self._executor.shutdown(wait=True)

    def recover(self) -> list[str]:
        """Mark the plans whose owning process is gone as failed.

        A queued or running plan is failed ("interrupted by a restart") when it
        records no :class:`Owner`, or its owner ran on this host and is gone:
        its pid is not alive, or it is this process's pid with another boot id
        (the pid was reused). Plans owned by a live process on this host (this
        one, or another ``--workers`` process) are left alone, so a process that
        starts later does not fail the plans its siblings run or have queued.

        Plans owned by another host are left alone too, as this host cannot
        tell whether their process is alive: a plan of a host that died stays
        queued or running until the service starts again on that host, whose
        own ``recover`` then fails it. Likewise a plan whose owner's pid now
        belongs to an unrelated live process stays until a restart frees the pid
        or reuses it for a service process.

        Call it at startup, before any job is submitted. Processes starting at
        once may each call it: a plan is failed, and its webhook queued, once.

        Returns
        -------
        list of str
            Ids of the plans marked failed; each gets a ``plan.failed`` webhook.
        """
        unfinished = t.Plan.status.in_((PlanStatus.QUEUED.value, PlanStatus.RUNNING.value))
        me = Owner.current()
        with self.sessions() as db:
            rows = db.execute(select(t.Plan.id, t.Plan.request).where(unfinished)).all()
        orphans = [plan_id for plan_id, request in rows if orphaned(request, me)]
        if not orphans:
            return []
        with transaction(self.sessions) as db:
            # Locked and checked again: another process may have failed them meanwhile.
            plans = db.scalars(
                select(t.Plan)
                .where(t.Plan.id.in_(orphans), unfinished)
                .order_by(t.Plan.created_at, t.Plan.id)
                .with_for_update()
            ).all()
            for plan in plans:
                _mark_failed(db, plan, INTERRUPTED_BY_RESTART)
            ids = [p.id for p in plans]
        if ids:
            log.warning("plans interrupted by a restart: %s", ", ".join(ids))
        return ids

    def run(self, plan_id: str) -> None:
        """Plan ``plan_id`` now, in this thread, and store the outcome.

        A plan that is not ``queued`` (or does not exist) is left alone. Every
        failure is stored as the plan's error; nothing is raised.
        """
        if self._stopping.is_set():
            self._fail(plan_id, INTERRUPTED_BY_SHUTDOWN)
            return
        try:
            request = self._start(plan_id)
        except Exception:
            log.exception("could not start plan %s", plan_id)
            return
        if request is None:
            return
        try:
            self._finish(plan_id, self._plan(plan_id, request))
        except PlanningInterruptedError:
            self._fail(plan_id, INTERRUPTED_BY_SHUTDOWN)
        except DoorstepError as error:
            self._fail(plan_id, str(error))
        except Exception as error:
            log.exception("plan %s failed", plan_id)
            self._fail(plan_id, f"the planning failed unexpectedly: {type(error).__name__}")

    @property
    def provider(self) -> TravelTimeProvider:
        """The travel-time provider (built on first use)."""
        if self._provider is None:
            self._provider = provider_for(self.settings)
        return self._provider

    def _start(self, plan_id: str) -> PlanRequest | None:
        with transaction(self.sessions) as db:
            plan = db.get(t.Plan, plan_id, with_for_update=True)
            if plan is None:
                log.warning("plan %s does not exist", plan_id)
                return None
            if plan.status != PlanStatus.QUEUED.value:
                log.info("plan %s is %s, not queued: not run", plan_id, plan.status)
                return None
            plan.status = PlanStatus.RUNNING.value
            plan.started_at = t.utcnow()
            plan.progress = 0.0
            stored = dict(plan.request)
        try:
            return PlanRequest.from_json(stored)
        except (TypeError, ValueError, KeyError, AttributeError) as error:
            self._fail(plan_id, f"the plan's request cannot be read: {error}")
            return None

    def _plan(self, plan_id: str, request: PlanRequest) -> DayPlan:
        started = time.perf_counter()
        with self.sessions() as db:
            orders = load_orders(
                db,
                request.order_ids,
                max_attempts=self.settings.max_attempts,
                redelivery_priority=self.settings.redelivery_priority,
            )
            fleet = load_fleet(db, request.vehicle_ids)
        if not orders:
            raise InputError(
                "no orders to plan",
                hint="Every order is planned already or on a published route; "
                "add orders, or list order_ids.",
            )
        if not fleet.vehicles:
            raise InputError("no vehicles to plan with", hint="Add vehicles first.")
        limit = request.time_limit_s or self.settings.plan_time_limit_s
        options = request.options(limit)
        writer = ProgressWriter(self.sessions, plan_id, limit, self._stopping)
        return plan_orders(orders, fleet, self.provider, options, progress=writer, started=started)

    def _finish(self, plan_id: str, day_plan: DayPlan) -> None:
        document = plan_document(day_plan)
        with transaction(self.sessions) as db:
            plan = db.get(t.Plan, plan_id, with_for_update=True)
            if plan is None or plan.status != PlanStatus.RUNNING.value:
                log.warning("plan %s changed while it was planned; result dropped", plan_id)
                return
            save_routes(db, plan_id, plan.day, day_plan)
            plan.document = document
            plan.status = PlanStatus.DONE.value
            plan.progress = 1.0
            cost = day_plan.search_cost
            if cost is not None and math.isfinite(cost):
                plan.best_cost = cost
            plan.error = None
            plan.finished_at = t.utcnow()
            kpis = day_plan.evaluation.kpis
            enqueue(
                db,
                "plan.done",
                {
                    "plan_id": plan.id,
                    "day": plan.day,
                    "status": plan.status,
                    "orders": kpis.orders,
                    "served": kpis.served,
                    "unassigned": kpis.unassigned,
                    "vehicles_used": kpis.vehicles_used,
                    "feasible": day_plan.evaluation.feasible,
                },
            )

    def _fail(self, plan_id: str, message: str) -> None:
        try:
            with transaction(self.sessions) as db:
                plan = db.get(t.Plan, plan_id, with_for_update=True)
                if plan is not None and plan.status in (
                    PlanStatus.QUEUED.value,
                    PlanStatus.RUNNING.value,
                ):
                    _mark_failed(db, plan, message)
        except Exception:
            log.exception("could not store the failure of plan %s: %s", plan_id, message)


def _mark_failed(db: Session, plan: t.Plan, message: str) -> None:
    plan.status = PlanStatus.FAILED.value
    plan.error = message
    plan.finished_at = t.utcnow()
    enqueue(db, "plan.failed", {"plan_id": plan.id, "day": plan.day, "error": message})
