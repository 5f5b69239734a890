"""Runners of sub-problems: serial in this process, and Ray on a real two-node cluster.

The Ray tests (``-m ray``) start a local cluster of two nodes of one CPU each,
with token authentication on, once for the module (about 7 s and 1.5 GB while
it runs), and shut it down after.
"""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from doorstep.cli import app
from doorstep.io.instances import read_instance
from doorstep.plan import parallel
from doorstep.plan.benchmark import problem_from_instance
from doorstep.plan.parallel import RayRunner, Runner, SerialRunner, default_runner
from doorstep.plan.problem import Objective, Problem
from doorstep.plan.reasons import explain
from doorstep.plan.solver import Assignment, SolveSettings
from doorstep.settings import Settings

DATA = Path(__file__).parents[1] / "data"
SRC = Path(__file__).parents[2] / "src"


# Sub-problem functions: top level, as the runners require. The test module is
# pickled by value for the Ray workers (they cannot import it by name).


def square(x: int) -> int:
    """``x * x``."""
    return x * x


def fail_on_three(x: int) -> int:
    """``x``, but 3 raises."""
    if x == 3:
        raise ValueError("three")
    return x


def slow_echo(task: tuple[int, float]) -> int:
    """The task's number, after sleeping its seconds (later tasks may finish first)."""
    number, seconds = task
    time.sleep(seconds)
    return number


def node_of(seconds: float) -> str:
    """The Ray node this task ran on, after holding its CPU for ``seconds``."""
    import ray

    time.sleep(seconds)
    return str(ray.get_runtime_context().get_node_id())


def die_on_two(x: int) -> int:
    """``x``, but the worker process running 2 dies on the spot."""
    if x == 2:
        os._exit(1)
    return x


# Serial runner and the choice of runner: no Ray needed.


def test_serial_runner_keeps_order_and_turns_failures_into_none() -> None:
    """Results come in task order; a task that raises gives None, the others their value."""
    runner = SerialRunner()
    assert runner.name == "serial" and runner.workers == 1
    assert runner.map(square, [3, 1, 2]) == [9, 1, 4]
    assert runner.map(fail_on_three, [1, 3, 5]) == [1, None, 5]
    assert runner.map(square, []) == []


def test_serial_runner_starts_no_task_after_the_deadline() -> None:
    """With a timeout, tasks not started by then give None; those before it ran."""
    runner = SerialRunner()
    results = runner.map(slow_echo, [(0, 0.3), (1, 0.3), (2, 0.0)], timeout_s=0.1)
    assert results == [0, None, None]


def test_serial_runner_starts_no_task_once_stopped() -> None:
    """Once ``stop()`` holds (Ctrl-C), the tasks not started give None."""
    runner = SerialRunner()
    ran: list[int] = []

    def stop() -> bool:
        return len(ran) >= 2

    def record(x: int) -> int:
        ran.append(x)
        return x

    assert runner.map(record, [5, 6, 7, 8], stop=stop) == [5, 6, None, None]


def test_default_runner_follows_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``parallel`` serial or ray, ``ray_address`` to the runner; nothing starts Ray here."""
    monkeypatch.setenv("DOORSTEP_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("DOORSTEP_PARALLEL", "ray")  # tests/conftest.py makes serial the default
    assert isinstance(default_runner(Settings(parallel="serial")), SerialRunner)
    local = default_runner(Settings())
    assert isinstance(local, RayRunner) and local.address is None
    monkeypatch.setenv("DOORSTEP_RAY_ADDRESS", "10.1.2.3:6379")
    cluster = default_runner()
    assert isinstance(cluster, RayRunner) and cluster.address == "10.1.2.3:6379"
    monkeypatch.setenv("DOORSTEP_PARALLEL", "serial")
    assert isinstance(default_runner(), SerialRunner)


def test_planning_without_decomposition_never_imports_ray() -> None:
    """A process that makes the default runner and asks its workers does not import Ray."""
    code = (
        "import sys\n"
        "from doorstep.plan.parallel import default_runner\n"
        "runner = default_runner()\n"
        "assert runner.name == 'ray' and runner.workers >= 1, runner\n"
        "assert runner.map(abs, []) == []\n"
        "print('ray' in sys.modules)\n"
    )
    env = {**os.environ, "DOORSTEP_CONFIG": os.devnull, "DOORSTEP_PARALLEL": "ray"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_ray_that_cannot_start_falls_back_to_serial(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Ray failing to start: a warning once, the tasks run serially, no second attempt."""
    attempts: list[str | None] = []

    def refuse(address: str | None, num_cpus: int | None) -> None:
        attempts.append(address)
        raise ConnectionError("no cluster there")

    monkeypatch.setattr(parallel, "_init_ray", refuse)
    monkeypatch.setattr(parallel, "_ray_running", lambda: False)
    monkeypatch.setattr(parallel, "_UNAVAILABLE", {})
    runner = RayRunner(address="10.1.2.3:6379")
    with caplog.at_level(logging.WARNING, logger="doorstep.plan.parallel"):
        assert runner.map(fail_on_three, [1, 3, 4]) == [1, None, 4]
        assert RayRunner(address="10.1.2.3:6379").map(square, [2]) == [4]
    assert attempts == ["10.1.2.3:6379"]
    assert runner.workers == 1
    assert "cannot start the Ray cluster at 10.1.2.3:6379" in caplog.text


def test_plan_ray_address_option_reaches_the_runner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``doorstep plan --ray-address`` is the setting the default runner reads."""
    monkeypatch.setenv("DOORSTEP_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("DOORSTEP_RAY_ADDRESS", "")  # restored after the test
    monkeypatch.setenv("DOORSTEP_PARALLEL", "ray")  # tests/conftest.py makes serial the default
    orders, fleet = tmp_path / "orders.csv", tmp_path / "fleet.csv"
    orders.write_text(
        "order_id,address,zip,city,lat,lon,service_min,parcels\n"
        "R-1,Testikatu 1,00100,Helsinki,60.1610,24.9350,4,1\n"
        "R-2,Testikatu 2,00100,Helsinki,60.1640,24.9390,4,1\n",
        encoding="utf-8",
    )
    fleet.write_text(
        "vehicle_id,depot_id,depot_lat,depot_lon,profile,shift_start,shift_end,"
        "capacity_parcels,cost_fixed,cost_per_km,cost_per_hour\n"
        "VAN-A,HEL-DEPOT,60.166160,24.952780,van,08:00,18:00,40,60,0.35,32\n",
        encoding="utf-8",
    )
    args = ["plan", str(orders), "--fleet", str(fleet), "--straight", "-t", "0.5"]
    result = CliRunner().invoke(
        app, [*args, "--out", str(tmp_path / "out"), "--ray-address", "10.1.2.3:6379"]
    )
    assert result.exit_code == 0, result.output
    runner = default_runner()
    assert isinstance(runner, RayRunner) and runner.address == "10.1.2.3:6379"


@pytest.mark.ray
def test_a_local_ray_started_from_a_passing_thread_stays_up(tmp_path: Path) -> None:
    """The local Ray, started by ``prepare`` in a thread that ends, still runs tasks after."""
    code = (
        "import threading, time\n"
        "from doorstep.plan.parallel import RayRunner\n"
        "runner = RayRunner(num_cpus=1)\n"
        "job = threading.Thread(target=runner.prepare)\n"
        "job.start(); job.join()\n"
        "assert runner.map(abs, [-1, -2]) == [1, 2]\n"
        "time.sleep(2)  # Ray's processes die with the thread that started them, if it ended\n"
        "print(runner.map(abs, [-3, -4], timeout_s=30), runner.workers)\n"
    )
    env = {**os.environ, "HOME": str(tmp_path)}  # the local Ray's token goes to tmp_path/.ray
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[3, 4] 1"
    assert (tmp_path / ".ray" / "auth_token").exists()  # token authentication on, locally too


# A real Ray cluster: two nodes of one CPU each, token authentication on.


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A two-node local Ray cluster (token authentication on) this process is connected to."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAY_AUTH_MODE", "token")
        env.setenv("RAY_AUTH_TOKEN", secrets.token_hex(16))
        env.setenv("RAY_USAGE_STATS_ENABLED", "0")
        import ray
        from ray import cloudpickle
        from ray.cluster_utils import Cluster

        made = Cluster(
            initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False}
        )
        try:
            made.add_node(num_cpus=1)
            made.wait_for_nodes()
            cloudpickle.register_pickle_by_value(sys.modules[__name__])
            yield made
        finally:
            cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
            ray.shutdown()
            made.shutdown()


@pytest.fixture(scope="module")
def on_cluster(cluster: Any) -> RayRunner:
    """A runner connected to the two-node cluster by its address."""
    runner = RayRunner(address=cluster.address)
    assert runner.workers == 2
    return runner


@pytest.mark.ray
def test_ray_tasks_run_on_both_nodes_in_order(cluster: Any, on_cluster: RayRunner) -> None:
    """Four one-second tasks on two one-CPU nodes: both nodes work, results in task order."""
    import ray

    nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    assert len(nodes) == 2
    ran_on = on_cluster.map(node_of, [1.0, 1.0, 1.0, 1.0])
    assert all(node in nodes for node in ran_on)
    assert set(ran_on) == nodes
    tasks = [(0, 0.8), (1, 0.0), (2, 0.4), (3, 0.0)]
    assert on_cluster.map(slow_echo, tasks) == [0, 1, 2, 3]


@pytest.mark.ray
def test_a_dead_worker_or_an_exception_costs_only_its_task(on_cluster: RayRunner) -> None:
    """A task whose worker dies (after Ray's retry) or that raises gives None; the rest succeed."""
    assert on_cluster.map(die_on_two, [0, 1, 2, 3]) == [0, 1, None, 3]
    assert on_cluster.map(fail_on_three, [3, 4]) == [None, 4]
    assert on_cluster.map(square, [5]) == [25]  # the cluster still works


@pytest.mark.ray
def test_tasks_not_done_by_the_deadline_give_none(on_cluster: RayRunner) -> None:
    """A task still running at the caller's timeout is cancelled and gives None, promptly."""
    started = time.perf_counter()
    assert on_cluster.map(slow_echo, [(0, 0.0), (1, 60.0)], timeout_s=3.0) == [0, None]
    assert time.perf_counter() - started < 10


@pytest.mark.ray
def test_a_stop_ends_the_wait_at_once_and_cancels_what_runs(on_cluster: RayRunner) -> None:
    """Ctrl-C (``stop`` turning True) ends a long wait within a second.

    Done tasks keep their results, running ones give None, the cluster is free again.
    """
    began = time.perf_counter()

    def stop() -> bool:
        return time.perf_counter() - began > 2.0

    results = on_cluster.map(slow_echo, [(0, 0.0), (1, 60.0)], timeout_s=60.0, stop=stop)
    assert results == [0, None]
    assert time.perf_counter() - began < 6  # not the 60 s timeout
    assert on_cluster.map(square, [4, 5], timeout_s=30.0) == [16, 25]  # the CPUs came back


@pytest.mark.ray
def test_a_client_without_the_token_is_refused(cluster: Any, tmp_path: Path) -> None:
    """Token authentication stays on: a process without the token runs serially, warned."""
    code = (
        "import logging\n"
        "logging.basicConfig(level=logging.WARNING)\n"
        "from doorstep.plan.parallel import RayRunner\n"
        f"print(RayRunner(address={cluster.address!r}).map(abs, [-1, -2]))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    env["HOME"] = str(tmp_path)  # no ~/.ray/auth_token either
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[1, 2]"
    assert "cannot start the Ray cluster" in done.stderr
    assert "AuthenticationError" in done.stderr


def _c101() -> Problem:
    return problem_from_instance(read_instance(DATA / "C101.txt"), Objective.DISTANCE)


def _decomposed(problem: Problem, runner: Runner) -> tuple[Assignment, Any]:
    """C101 through the decomposition (forced: parts of about 35 orders) with ``runner``."""
    from doorstep.plan.decompose import DecomposeSolver
    from doorstep.plan.evaluator import evaluate

    solver = DecomposeSolver(base="pyvrp", runner=runner, min_orders=50, target_size=35)
    assignment = solver.solve(problem, SolveSettings(time_limit_s=3.0, seed=1))
    return assignment, evaluate(problem, assignment, explain(problem, assignment))


def warm_up(_: int) -> bool:
    """Import what a part's solve needs (a fresh worker pays this once, not the parts' time)."""
    import doorstep.plan.backends.pyvrp
    import doorstep.plan.decompose  # noqa: F401

    return True


class Counting:
    """A runner that counts the parts another runner solved (a result, not None)."""

    def __init__(self, inner: Runner) -> None:
        self.inner = inner
        self.name = inner.name
        self.solved = 0

    @property
    def workers(self) -> int:
        """The inner runner's."""
        return self.inner.workers

    def prepare(self) -> None:
        """The inner runner's."""
        self.inner.prepare()

    def map(
        self, fn: Any, tasks: Any, *, timeout_s: float | None = None, stop: Any = None
    ) -> list[Any]:
        """The inner runner's results, counted."""
        results = self.inner.map(fn, tasks, timeout_s=timeout_s, stop=stop)
        self.solved += sum(r is not None for r in results)
        return results


@pytest.mark.ray
def test_the_distributed_decomposition_is_as_good_as_the_serial_one(
    on_cluster: RayRunner,
) -> None:
    """C101 decomposed on the two-node cluster: parts solved there, feasible, as short as serial."""
    problem = _c101()
    _, serial = _decomposed(problem, SerialRunner())
    assert on_cluster.map(warm_up, [0, 1, 2, 3]) == [True] * 4  # workers died in earlier tests
    counted = Counting(on_cluster)
    _, distributed = _decomposed(problem, counted)
    assert counted.solved >= 3  # at least a round's parts came back from the cluster
    assert serial.feasible and distributed.feasible
    assert not distributed.plan.unassigned and not serial.plan.unassigned
    km = [sum(r.distance_m for r in e.plan.routes) / 1000 for e in (serial, distributed)]
    assert km[1] <= km[0] * 1.02, km
