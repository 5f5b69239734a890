"""The public API: a deliberate, sorted __all__, the guide's examples, the strict readers."""

import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import doorstep
import doorstep.domain
import doorstep.errors
import doorstep.gate
import doorstep.network
from doorstep.plan import day, pipeline, result


def _isort_key(name: str) -> tuple[int, str]:
    """Constants first, then classes, then functions (ruff RUF022's order)."""
    if name.isupper():
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name)


def test_all_lists_are_sorted_and_importable() -> None:
    """Each package's __all__ is sorted (isort-style) and names things that exist."""
    for module in (doorstep, doorstep.domain, doorstep.gate, doorstep.errors, doorstep.network):
        names = list(module.__all__)
        assert names == sorted(names, key=_isort_key), module.__name__
        for name in names:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_error_codes_are_unique() -> None:
    """Every exception class has its own stable code."""
    classes = [getattr(doorstep.errors, n) for n in doorstep.errors.__all__]
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))


EXPECTED_PUBLIC_NAMES = {
    # running the day (issue 15)
    "DayException",
    "DayState",
    "DispatchContext",
    "ExceptionKind",
    "ProposalDraft",
    "RequestNow",
    "RouteNow",
    "StopNow",
    "Thresholds",
    "detect",
    "propose",
    # functions
    "evaluate",
    "plan_day",
    "read_fleet",
    "read_orders",
    "validate",
    "validate_files",
    # building, planning, evaluating
    "DayPlan",
    "Evaluation",
    "Kpis",
    "Lock",
    "Model",
    "Objective",
    "PlanOptions",
    "Problem",
    "Result",
    "Violation",
    # the gate
    "GateSettings",
    "Report",
    # domain
    "UNLIMITED",
    "Address",
    "Break",
    "Contact",
    "Costs",
    "Depot",
    "Finding",
    "Fleet",
    "Load",
    "Location",
    "Order",
    "OrderKind",
    "Plan",
    "Profile",
    "Route",
    "Severity",
    "TimeWindow",
    "Unassigned",
    "Vehicle",
    "Visit",
    # errors
    "CorruptFileError",
    "DomainError",
    "DoorstepError",
    "EmptyInputError",
    "InputError",
    "InstanceFormatError",
    "InvalidTransitionError",
    "NoRecognisedColumnsError",
    "RoadNetworkError",
    "RouterError",
    "RouterUnavailableError",
    "UnsupportedFormatError",
    # metadata
    "__version__",
}
"""The deliberate public API: removing a name breaks users, adding one is a decision."""

ROOT = Path(__file__).parents[1]


def test_exported_members_are_exactly_the_public_api() -> None:
    """doorstep.__all__ is the expected list: no public name lost, none added by accident."""
    exported = set(doorstep.__all__)
    assert not EXPECTED_PUBLIC_NAMES - exported, "public names disappeared"
    assert not exported - EXPECTED_PUBLIC_NAMES, "new public names: add them to the test"
    assert len(doorstep.__all__) == len(exported), "a name is listed twice"


def test_no_private_name_leaks_and_every_public_object_is_listed() -> None:
    """__all__ holds no private name; every public module-level object is in __all__."""
    for name in doorstep.__all__:
        assert not name.startswith("_") or name == "__version__", name
        assert getattr(doorstep, name) is not None, name
    for name, value in vars(doorstep).items():
        if name.startswith("_") or isinstance(value, ModuleType):
            continue  # private, or a subpackage bound by its import
        assert name in doorstep.__all__, f"doorstep.{name} is public but not in __all__"


def test_exported_classes_are_the_internal_ones() -> None:
    """The re-exports are the very objects the rest of Doorstep uses, not copies."""
    assert doorstep.Order is doorstep.domain.Order
    assert doorstep.InputError is doorstep.errors.InputError
    assert doorstep.PlanOptions is pipeline.PlanOptions
    assert doorstep.plan_day is day.plan_day
    assert doorstep.DayPlan is result.DayPlan
    assert issubclass(doorstep.Result, doorstep.DayPlan)


def test_import_doorstep_does_not_load_solvers_or_road_code() -> None:
    """`import doorstep` stays light: no solver library, numba or osmium is imported."""
    heavy = ("pyvrp", "ortools", "vroom", "numba", "osmium", "httpx", "sqlalchemy", "fastapi")
    code = f"import sys, doorstep; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"


def test_library_guide_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ```python block of docs/library.md runs, in order, from the repository root."""
    text = (ROOT / "docs" / "library.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)
    assert len(blocks) >= 5
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/library.md (block {i + 1})", "exec"), namespace)
    plan = namespace["result"]
    assert isinstance(plan, doorstep.Result) and plan.kpis.served == 9


def test_read_fleet_gives_a_fleet() -> None:
    """read_fleet turns the example fleet file into domain vehicles and depots."""
    fleet = doorstep.read_fleet(ROOT / "examples" / "helsinki" / "fleet.csv")
    assert isinstance(fleet, doorstep.Fleet)
    assert [v.id for v in fleet.vehicles][:2] == ["VAN-01", "VAN-02"]
    assert fleet.vehicles[0].capacity == doorstep.Load(120, 800_000, 6_000_000)
    assert [d.id for d in fleet.depots] == ["HEL-ETELARANTA"]


def test_read_fleet_names_the_bad_row_and_field(tmp_path: Path) -> None:
    """A fleet row with an unreadable value raises InputError naming its row and field."""
    path = tmp_path / "fleet.csv"
    path.write_text(
        "vehicle_id,depot_id,depot_lat,depot_lon,shift_start,shift_end,capacity_kg\n"
        "V1,D,60.17,24.95,08:00,16:00,500\n"
        "V2,D,60.17,24.95,08:00,16:00,lots\n",
        encoding="utf-8",
    )
    with pytest.raises(doorstep.InputError, match=r"row 3, field capacity_kg"):
        doorstep.read_fleet(path)


def test_read_orders_gives_orders(tmp_path: Path) -> None:
    """read_orders turns a clean orders file into domain orders, in file order."""
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,lat,lon,window_start,window_end,parcels,weight_kg\n"
        "B-2,60.1699,24.9384,09:00,12:00,2,3.5\n"
        "A-1,60.1645,24.9407,,,1,\n",
        encoding="utf-8",
    )
    orders = doorstep.read_orders(path)
    assert [o.id for o in orders] == ["B-2", "A-1"]
    assert all(isinstance(o, doorstep.Order) for o in orders)
    assert orders[0].windows == (doorstep.TimeWindow(32_400, 43_200),)
    assert orders[0].demand == doorstep.Load(2, 3_500, 0)


def test_read_orders_names_every_bad_row_and_field() -> None:
    """read_orders refuses the example manifest's planted defects, naming rows and fields."""
    with pytest.raises(doorstep.InputError) as caught:
        doorstep.read_orders(ROOT / "examples" / "helsinki" / "orders.csv")
    message = str(caught.value)
    assert "row 35, field weight_kg" in message and "quantity_not_numeric" in message
    assert "row 43, field lat" in message
