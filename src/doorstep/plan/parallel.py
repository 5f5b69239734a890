"""Running independent sub-problems side by side: the ``Runner`` protocol and its runners.

The decomposition search (:mod:`doorstep.plan.decompose`) and the per-depot split
(:mod:`doorstep.plan.depots`) hand a runner a top-level function and a list of
picklable tasks; the runner returns one result per task, in order, or ``None`` for
a task whose worker failed (it raised, its process died, or it was not done by the
caller's deadline). A failed task costs only its own improvement, never the plan.

Two runners: :class:`SerialRunner` (one task after the other, in this process) and
:class:`RayRunner` (one Ray task per sub-problem, on a local Ray started in this
process or on a cluster by address; see ``docs/scale.md``). :func:`default_runner`
chooses from the settings (``DOORSTEP_PARALLEL``, ``DOORSTEP_RAY_ADDRESS``). Ray is
imported only when a runner first has work to do, so a process that never
decomposes a problem never imports it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from doorstep.settings import Settings

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)


class Runner(Protocol):
    """Runs one function over many tasks, in parallel where it can."""

    name: str
    """Short name for outputs and logs (``serial``, ``ray``...)."""

    @property
    def workers(self) -> int:
        """How many tasks can run at once (1 for the serial runner)."""
        ...

    def prepare(self) -> None:
        """Get ready for a first :meth:`map` soon, without waiting (Ray starts meanwhile)."""
        ...

    def map(
        self,
        fn: Callable[[T], R],
        tasks: Sequence[T],
        *,
        timeout_s: float | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> list[R | None]:
        """``fn`` applied to each task, results in task order.

        Parameters
        ----------
        fn
            A top-level (picklable) function.
        tasks
            Picklable arguments, one per call.
        timeout_s
            Seconds the caller can wait for all of them (its deadline, with the
            sub-problems' own time limits inside it); ``None``: no limit. A task
            not done by then gives ``None``.
        stop
            Asked while waiting (about every :data:`STOP_POLL_S`); once it
            returns True (Ctrl-C), the wait ends and tasks not done give ``None``.

        Returns
        -------
        list
            One result per task; ``None`` where the task failed.
        """
        ...


class SerialRunner:
    """Runs tasks one after the other in this process (tests, one core, no Ray)."""

    name = "serial"

    @property
    def workers(self) -> int:
        """Always 1."""
        return 1

    def prepare(self) -> None:
        """Nothing to prepare."""

    def map(
        self,
        fn: Callable[[T], R],
        tasks: Sequence[T],
        *,
        timeout_s: float | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> list[R | None]:
        """``fn`` over ``tasks`` in order; a task that raises gives ``None`` (logged).

        With ``timeout_s``, or once ``stop()`` holds, tasks not started by then
        give ``None`` (a task that has started runs to its own end: this process
        cannot stop it, but a solve stops itself on Ctrl-C).
        """
        end = None if timeout_s is None else time.perf_counter() + timeout_s
        results: list[R | None] = []
        for task in tasks:
            if (end is not None and time.perf_counter() >= end) or (stop is not None and stop()):
                results.append(None)
                continue
            try:
                results.append(fn(task))
            except Exception:
                log.exception("sub-problem failed; its part of the plan is kept as it was")
                results.append(None)
        if end is not None and (skipped := sum(r is None for r in results)):
            log.debug("%d sub-problem(s) without a result by the deadline", skipped)
        return results


_START = threading.Lock()
"""Held while Ray starts or connects, so two planning threads start it once."""
_UNAVAILABLE: dict[str | None, str] = {}
"""Address (``None``: the local Ray) -> why Ray could not start there; not tried again."""

STOP_POLL_S = 0.25
"""Seconds between two looks at a map's ``stop`` while Ray tasks run."""

MAX_RETRIES = 1
"""Times Ray runs a sub-problem again when its worker process died (a crash, the
node lost); an exception raised by the sub-problem itself is not retried."""


class RayRunner:
    """One Ray task per sub-problem, on a local Ray or on a cluster.

    Ray does the scheduling, the retries of a task whose worker died and the
    transfer of tasks and results; this class only submits, waits and turns a
    failure into ``None``. Nothing starts until :meth:`prepare` (in the
    background), the first :meth:`map` with work, or :attr:`workers` on a
    cluster: then a local Ray is started in this process, once, and reused by
    every runner (``ray.init(num_cpus=...)``, no dashboard, quiet logs), or the
    cluster at ``address`` is connected. If Ray cannot start, the runner logs a
    warning and runs the tasks serially.

    Token authentication (on by default in Ray 2.60) stays on: a local Ray makes
    its own token (``~/.ray/auth_token``); for a cluster, this process needs the
    cluster's token in ``RAY_AUTH_TOKEN`` or in a file (``RAY_AUTH_TOKEN_PATH``,
    default ``~/.ray/auth_token``), and ``RAY_AUTH_MODE=token`` is set for it
    unless the environment says otherwise (``RAY_AUTH_MODE=disabled`` for a
    cluster started without authentication). See ``docs/scale.md``.

    Parameters
    ----------
    address
        A running cluster's address (``HEAD_IP:6379``, or ``auto`` for the one
        this machine belongs to); ``None``: a local Ray in this process.
    num_cpus
        CPUs of the local Ray; ``None``: the cores this process may use. Not
        used with an address (the cluster has its own).
    max_retries
        Times a task whose worker died is run again before it gives ``None``.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        *,
        max_retries: int = MAX_RETRIES,
    ) -> None:
        self.address = address or None
        self.num_cpus = num_cpus
        self.max_retries = max_retries

    @property
    def workers(self) -> int:
        """CPUs of the Ray cluster (1 when Ray cannot start: then tasks run serially).

        A local Ray not started yet is not started for this: its CPUs are known.
        """
        if self.address is None and not _ray_running() and None not in _UNAVAILABLE:
            return self.num_cpus or _local_cpus()
        if not self._start():
            return 1
        return max(1, int(_cluster_cpus()))

    def prepare(self) -> None:
        """Start or connect Ray in a background thread; the first :meth:`map` waits for it.

        A search calls this before its own first phase, so Ray's start-up (2-14 s
        for a local Ray) overlaps that phase instead of eating into the parts' time.
        """
        if not _ray_running() and self.address not in _UNAVAILABLE:
            threading.Thread(target=self._start, name="doorstep-ray-start", daemon=True).start()

    def map(
        self,
        fn: Callable[[T], R],
        tasks: Sequence[T],
        *,
        timeout_s: float | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> list[R | None]:
        """``fn`` over ``tasks`` as Ray tasks, results in task order.

        Parameters
        ----------
        fn
            A top-level function (Ray pickles it; the workers must be able to
            import its module, as any module of this package).
        tasks
            Picklable arguments, one per task.
        timeout_s
            Seconds to wait for all of them; tasks not done by then are cancelled
            and give ``None``. ``None``: wait until every task is done.
        stop
            Asked about every :data:`STOP_POLL_S` while waiting; once True
            (Ctrl-C), tasks not done are cancelled at once and give ``None``.

        Returns
        -------
        list
            One result per task; ``None`` for a task that raised, whose worker
            died more than ``max_retries`` times, or that was not done in time.
            Never raises for a task's failure.
        """
        if not tasks:
            return []
        end = None if timeout_s is None else time.perf_counter() + timeout_s
        if not self._start():
            left = None if end is None else max(0.0, end - time.perf_counter())
            return SerialRunner().map(fn, tasks, timeout_s=left, stop=stop)
        import ray

        remote = _remote_call().options(max_retries=self.max_retries, retry_exceptions=False)
        refs = [remote.remote(fn, task) for task in tasks]
        done, pending = _wait(refs, end, stop)
        for ref in pending:
            ray.cancel(ref, force=True)
        if pending and stop is not None and stop():
            log.info("stopped: %d of %d sub-problems cancelled", len(pending), len(refs))
        elif pending:
            log.warning(
                "%d of %d sub-problems not done by the deadline; their parts are kept as they were",
                len(pending),
                len(refs),
            )
        finished = set(done)
        return [_result(ref) if ref in finished else None for ref in refs]

    def _start(self) -> bool:
        """Start or connect Ray if this process has not; whether it is running."""
        if _ray_running():
            return True
        with _START:
            if _ray_running():
                return True
            if self.address in _UNAVAILABLE:
                return False
            error = _init_in_keeper(self.address, self.num_cpus)
            if error is not None:
                where = f"the Ray cluster at {self.address}" if self.address else "a local Ray"
                reason = f"{type(error).__name__}: {error}".splitlines()[0]
                _UNAVAILABLE[self.address] = reason
                log.warning(
                    "cannot start %s (%s); sub-problems run one after the other in this "
                    "process. See docs/scale.md.",
                    where,
                    reason,
                )
                return False
            return True


def _wait(
    refs: list[Any], end: float | None, stop: Callable[[], bool] | None
) -> tuple[list[Any], list[Any]]:
    """``ray.wait`` for every ref until ``end`` (perf_counter) or ``stop()``; (done, pending).

    Without ``stop`` this is one ``ray.wait``; with it, waits of at most
    :data:`STOP_POLL_S` so Ctrl-C (which only stops the caller's deadline) is
    seen within that time instead of at the round's timeout.
    """
    import ray

    done: list[Any] = []
    pending = list(refs)
    while pending:
        left = None if end is None else max(0.0, end - time.perf_counter())
        if stop is None:
            ready, pending = ray.wait(pending, num_returns=len(pending), timeout=left)
            return done + ready, pending
        slice_s = STOP_POLL_S if left is None else min(STOP_POLL_S, left)
        ready, pending = ray.wait(pending, num_returns=len(pending), timeout=slice_s)
        done += ready
        if (left is not None and left <= slice_s) or stop():
            break
    return done, pending


def _ray_running() -> bool:
    """Whether this process is connected to a Ray (without importing Ray if it is not)."""
    import sys

    ray = sys.modules.get("ray")
    running = getattr(ray, "is_initialized", None)  # absent while another thread imports Ray
    return running is not None and bool(running())


def _local_cpus() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _init_in_keeper(address: str | None, num_cpus: int | None) -> Exception | None:
    """:func:`_init_ray` in a thread that lives as long as the process; its error if any.

    Ray's processes are killed when the *thread* that started them ends (Linux's
    parent-death signal), so neither a planning job's thread nor :meth:`RayRunner.prepare`'s
    may start them: a daemon thread starts Ray and then waits forever.
    """
    outcome: list[Exception | None] = []
    done = threading.Event()

    def keep() -> None:
        try:
            _init_ray(address, num_cpus)
        except Exception as error:  # Ray's errors on start have no common base
            outcome.append(error)
            done.set()
            return
        outcome.append(None)
        done.set()
        threading.Event().wait()

    threading.Thread(target=keep, name="doorstep-ray", daemon=True).start()
    done.wait()
    return outcome[0]


def _init_ray(address: str | None, num_cpus: int | None) -> None:
    """``ray.init``: a local Ray on this machine's cores, or the cluster at ``address``.

    Quiet (Ray's own logs at errors only, the workers' output not copied here),
    without a dashboard, usage reporting or a ``uv`` environment for the workers:
    nothing is downloaded. For a cluster, token authentication stays on unless
    ``RAY_AUTH_MODE`` says otherwise.
    """
    import sys

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    imported = "ray" in sys.modules
    if address is not None and "RAY_AUTH_MODE" not in os.environ:
        os.environ["RAY_AUTH_MODE"] = "token"
        if imported:  # Ray read its configuration on import: read it again, as Ray does
            from ray._raylet import Config  # type: ignore[attr-defined]

            Config.initialize("")
    import ray

    started = time.perf_counter()
    quiet: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
    if address is None:
        # "local": a new Ray of this process's own, never one found running on the machine
        ray.init(
            address="local", num_cpus=num_cpus or _local_cpus(), include_dashboard=False, **quiet
        )
    else:
        ray.init(address=address, **quiet)
    log.info(
        "Ray %s in %.1f s: %g CPUs",
        "connected" if address else "started",
        time.perf_counter() - started,
        _cluster_cpus(),
    )


def _cluster_cpus() -> float:
    """CPUs of the Ray cluster this process is connected to."""
    import ray

    resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
    return resources.get("CPU", 0.0)


def _call(fn: Callable[[T], R], task: T) -> R:
    """``fn(task)``: what each Ray task runs (any callable, not only a function)."""
    return fn(task)


_REMOTE: list[Any] = []
""":func:`_call` as a Ray remote function, made on first use."""


def _remote_call() -> Any:
    """:func:`_call` as a Ray remote function."""
    if not _REMOTE:
        import ray

        _REMOTE.append(ray.remote(_call))
    return _REMOTE[0]


def _result(ref: Any) -> Any:
    """A finished task's value, or ``None`` (logged) if it failed."""
    import ray

    try:
        return ray.get(ref)
    except ray.exceptions.RayError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        log.warning(
            "sub-problem failed (%s: %s); its part of the plan is kept as it was",
            type(error).__name__,
            first,
        )
        return None


def default_runner(settings: Settings | None = None) -> Runner:
    """The runner used when none is given, from the settings.

    Parameters
    ----------
    settings
        Where ``parallel`` and ``ray_address`` come from; ``None``: read them
        (``DOORSTEP_PARALLEL``, ``DOORSTEP_RAY_ADDRESS`` or ``doorstep.toml``).

    Returns
    -------
    Runner
        :class:`SerialRunner` when ``parallel`` is ``serial``; else a
        :class:`RayRunner` on ``ray_address`` (empty: a local Ray), which starts
        nothing until it has work and runs serially if Ray cannot start.
    """
    if settings is None:
        settings = _read_settings()
        if settings is None:
            return SerialRunner()
    if settings.parallel == "serial":
        return SerialRunner()
    return RayRunner(address=settings.ray_address or None)


def _read_settings() -> Settings | None:
    """The settings from the environment and ``doorstep.toml``; ``None`` if they are invalid."""
    from pydantic import ValidationError

    from doorstep.settings import Settings

    try:
        return Settings()
    except ValidationError as error:
        log.warning("settings are not valid (%s); sub-problems run serially", error)
        return None
