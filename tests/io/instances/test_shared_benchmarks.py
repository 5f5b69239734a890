"""Every shared Solomon and Li & Lim benchmark file loads through read_instance.

The shared folder sits next to the repository (``<repo>/../shared``). CI always
has it, so a missing folder fails these tests rather than skipping them.
"""

import json
from pathlib import Path
from typing import Any

import pytest

from doorstep.domain import Instance, OrderKind
from doorstep.io.instances import read_instance

SHARED = Path(__file__).parents[3] / ".." / "shared"
BENCHMARKS = SHARED / "benchmarks"
MISSING = "<no benchmark files found>"


def _files(folder: str) -> list[Path]:
    """The instance files of a benchmark folder, or a placeholder that fails the test."""
    found = sorted(
        path for path in (BENCHMARKS / folder).glob("*.txt") if not path.name.startswith("README")
    )
    return found or [BENCHMARKS / folder / MISSING]


def _require(path: Path) -> None:
    """Fail (never skip) with a clear message when a shared file is missing."""
    if not path.is_file():
        pytest.fail(
            f"shared benchmark file missing: {path.resolve()}. The tests expect the shared "
            f"folder at {SHARED.resolve()} (next to the repository); CI always has it."
        )


def _bks(folder: str) -> dict[str, Any]:
    """The folder's BKS.json."""
    path = BENCHMARKS / folder / "BKS.json"
    _require(path)
    facts: dict[str, Any] = json.loads(path.read_text())
    return facts


def _load(path: Path) -> Instance:
    """Read one shared instance, failing clearly if it is missing."""
    _require(path)
    return read_instance(path)


@pytest.mark.parametrize("folder", ["solomon", "lilim_100"])
def test_shared_folders_hold_the_56_instances(folder: str) -> None:
    """Each shared benchmark folder holds the 56 instances its README lists."""
    files = _files(folder)
    for path in files:
        _require(path)
    assert len(files) == 56


@pytest.mark.parametrize("path", _files("solomon"), ids=lambda path: path.name)
def test_solomon_instance_loads_and_matches_bks(path: Path) -> None:
    """A Solomon file gives orders and vehicles, and its demands add up to BKS total_demand."""
    instance = _load(path)
    facts = _bks("solomon")[path.stem]
    assert len(instance.orders) >= 1
    assert len(instance.vehicles) >= 1
    assert sum(order.demand.parcels for order in instance.orders) == facts["total_demand"]
    assert len(instance.orders) == facts["jobs"]
    assert len(instance.vehicles) == facts["vehicles"]
    assert {v.capacity.parcels for v in instance.vehicles} == {facts["capacity"]}


@pytest.mark.parametrize("path", _files("lilim_100"), ids=lambda path: path.name)
def test_lilim_instance_loads_with_every_delivery_paired(path: Path) -> None:
    """A Li & Lim file gives orders and vehicles, and every delivery has its pickup."""
    instance = _load(path)
    assert len(instance.orders) >= 1
    assert len(instance.vehicles) >= 1
    pickups = {o.id: o for o in instance.orders if o.kind is OrderKind.PICKUP}
    deliveries = [o for o in instance.orders if o.kind is OrderKind.DELIVERY]
    assert len(deliveries) == len(pickups)
    for delivery in deliveries:
        assert delivery.paired_pickup in pickups, delivery.id
        assert pickups[delivery.paired_pickup].demand == delivery.demand
    facts = _bks("lilim_100")[path.stem]
    assert len(instance.orders) == facts["jobs"]
    assert sum(p.demand.parcels for p in pickups.values()) == facts["total_demand"]
