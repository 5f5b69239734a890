"""The VROOM reader on a hand-written problem and on small inline variants."""

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doorstep.domain import (
    UNLIMITED,
    Break,
    Costs,
    Instance,
    Load,
    Location,
    Metric,
    OrderKind,
    Profile,
    TimeWindow,
)
from doorstep.errors import InstanceFormatError
from doorstep.io.instances._common import UNBOUNDED_SHIFT
from doorstep.io.instances.vroom import parse_vroom, read_vroom

DATA = Path(__file__).parents[2] / "data"
TINY = DATA / "tiny_vroom.json"


@pytest.fixture
def problem() -> dict[str, Any]:
    """A fresh copy of the hand-written problem, to edit."""
    document: dict[str, Any] = json.loads(TINY.read_text())
    return document


@pytest.fixture(scope="module")
def tiny() -> Instance:
    """The hand-written problem, read."""
    return read_vroom(TINY)


def _parse(document: object) -> Instance:
    """Parse a problem given as a Python object."""
    return parse_vroom(json.dumps(document), source="p.json")


def _with_matrix(document: dict[str, Any], matrix: list[list[int]]) -> dict[str, Any]:
    """Give every place of ``document`` a location index (in order) and the matrix."""
    places = [(v, key) for v in document["vehicles"] for key in ("start", "end")]
    places += [(job, "location") for job in document["jobs"]]
    for shipment in document.get("shipments", []):
        places += [(shipment["pickup"], "location"), (shipment["delivery"], "location")]
    index_keys = {"start": "start_index", "end": "end_index", "location": "location_index"}
    for index, (obj, key) in enumerate(places):
        obj[index_keys[key]] = index
    document["matrices"] = {"car": {"durations": matrix}}
    return document


def test_tiny_problem_counts(tiny: Instance) -> None:
    """Three jobs and one shipment give five orders; two distinct vehicle ends, two depots."""
    assert tiny.name == "tiny_vroom"
    assert [o.id for o in tiny.orders] == ["10", "11", "12", "20-p", "20-d"]
    assert [d.id for d in tiny.depots] == ["d0", "d1"]
    assert tiny.depots[0].location == Location(lat=60.1699, lon=24.9384)
    assert tiny.metric is Metric.GEOGRAPHIC
    assert tiny.matrix is None


def test_vehicles_map_every_field(tiny: Instance) -> None:
    """Capacity, skills, shift, break, costs, profile and end depot come from the JSON."""
    first, second = tiny.vehicles
    assert (first.id, first.depot_id, first.end_depot_id) == ("1", "d0", None)
    assert first.capacity == Load(4, 20000, UNLIMITED)
    assert first.skills == frozenset({"1", "14"})
    assert first.shift == TimeWindow(28800, 43200)
    assert first.break_ == Break(TimeWindow(36000, 39600), 1800)
    assert first.costs == Costs(fixed=5000, per_hour=3600)
    assert first.profile is Profile.CAR
    assert (second.depot_id, second.end_depot_id) == ("d0", "d1")
    assert second.capacity == Load(6, UNLIMITED, UNLIMITED)
    assert second.shift == UNBOUNDED_SHIFT
    assert second.break_ is None


def test_delivery_job_maps_every_field(tiny: Instance) -> None:
    """Job 10: [lon, lat], delivery amounts, setup + service, window, skills, priority, notes."""
    job = tiny.orders[0]
    assert job.kind is OrderKind.DELIVERY
    assert job.location == Location(lat=60.1718, lon=24.9414)
    assert job.demand == Load(1, 1500, 0)
    assert job.service_s == 60 + 300
    assert job.windows == (TimeWindow(32400, 36000),)
    assert job.skills == frozenset({"1"})
    assert job.priority == 10
    assert job.notes == "Aleksanterinkatu 52"


def test_pickup_job_has_sorted_windows(tiny: Instance) -> None:
    """Job 12 is a pickup of 1 parcel whose two windows are sorted."""
    job = tiny.orders[2]
    assert job.kind is OrderKind.PICKUP
    assert job.demand == Load(parcels=1)
    assert job.windows == (TimeWindow(28800, 32400), TimeWindow(39600, 43200))


def test_shipment_becomes_a_paired_pickup_and_delivery(tiny: Instance) -> None:
    """The shipment gives 20-p (pickup) and 20-d (delivery paired with 20-p), sharing fields."""
    pickup, delivery = tiny.orders[3:]
    assert (pickup.kind, delivery.kind) == (OrderKind.PICKUP, OrderKind.DELIVERY)
    assert delivery.paired_pickup == pickup.id == "20-p"
    assert pickup.paired_pickup is None
    assert pickup.demand == delivery.demand == Load(parcels=1)
    assert pickup.skills == delivery.skills == frozenset({"14"})
    assert pickup.priority == delivery.priority == 5
    assert delivery.windows == (TimeWindow(30000, 40000),)


def test_deprecated_amount_is_a_delivery(problem: dict[str, Any]) -> None:
    """A job with the deprecated `amount` is a delivery of that amount."""
    problem["jobs"][1] = {"id": 11, "location": [24.9, 60.1], "amount": [3]}
    job = _parse(problem).orders[1]
    assert (job.kind, job.demand) == (OrderKind.DELIVERY, Load(parcels=3))


def test_custom_matrix_makes_the_metric_explicit(problem: dict[str, Any]) -> None:
    """With `matrices`, the durations are restricted and reordered depots first, then orders."""
    size = 9  # 2 vehicles x (start, end) + 3 jobs + 2 shipment steps
    matrix = [[10 * a + b for b in range(size)] for a in range(size)]
    instance = _parse(_with_matrix(problem, matrix))
    # depots: vehicle 1's start (index 0; its end, index 1, lies at the same point but is
    # a different matrix row, so it is its own depot), vehicle 2's start and end.
    rows = [0, 1, 2, 3, 4, 5, 6, 7, 8]
    assert [d.id for d in instance.depots] == ["d0", "d1", "d2", "d3"]
    assert instance.metric is Metric.EXPLICIT
    assert instance.matrix == tuple(tuple(float(matrix[a][b]) for b in rows) for a in rows)


def test_shared_matrix_index_gives_one_depot(problem: dict[str, Any]) -> None:
    """Places sharing a location_index share a depot, and the matrix keeps one row for it."""
    for vehicle in problem["vehicles"]:
        vehicle["start_index"] = vehicle["end_index"] = 4
    for index, job in enumerate(problem["jobs"]):
        job["location_index"] = index
    problem["shipments"] = []
    problem["matrix"] = [[10 * a + b for b in range(5)] for a in range(5)]
    instance = _parse(problem)
    assert [d.id for d in instance.depots] == ["d0"]
    assert {(v.depot_id, v.end_depot_id) for v in instance.vehicles} == {("d0", None)}
    order = [4, 0, 1, 2]
    assert instance.matrix == tuple(tuple(float(10 * a + b) for b in order) for a in order)


def _first_vehicle(problem: dict[str, Any]) -> dict[str, Any]:
    """The first vehicle of a problem."""
    vehicle: dict[str, Any] = problem["vehicles"][0]
    return vehicle


BAD_EDITS: dict[str, tuple[Any, str]] = {
    "pickup and delivery": (
        lambda p: p["jobs"][0].update(pickup=[1]),
        r"\$\.jobs\[0\]: has both a pickup",
    ),
    "two breaks": (
        lambda p: _first_vehicle(p)["breaks"].append(_first_vehicle(p)["breaks"][0]),
        r"\$\.vehicles\[0\]\.breaks: has 2 breaks",
    ),
    "break with two windows": (
        lambda p: _first_vehicle(p)["breaks"][0]["time_windows"].append([40000, 41000]),
        r"\$\.vehicles\[0\]\.breaks\[0\]\.time_windows: has 2 time windows",
    ),
    "open route": (
        lambda p: p["vehicles"][1].pop("end"),
        r"\$\.vehicles\[1\]: has no 'end'",
    ),
    "unknown profile": (
        lambda p: _first_vehicle(p).update(profile="truck"),
        r"\$\.vehicles\[0\]\.profile: profile 'truck'",
    ),
    "max_tasks": (
        lambda p: _first_vehicle(p).update(max_tasks=3),
        r"\$\.vehicles\[0\]\.max_tasks: Doorstep does not",
    ),
    "duplicate job id": (
        lambda p: p["jobs"][1].update(id=10),
        r"\$\.jobs\[1\]\.id: order id '10'",
    ),
    "four dimensions": (
        lambda p: p["jobs"][1].update(delivery=[1, 2, 3, 4]),
        r"\$\.jobs\[1\]\.delivery: has 4 dimensions",
    ),
    "lat and lon swapped": (
        lambda p: p["jobs"][1].update(location=[60.1, 124.9]),
        r"\$\.jobs\[1\]\.location: \[60\.1, 124\.9\] is not a WGS84",
    ),
    "string service": (
        lambda p: p["jobs"][1].update(service="5"),
        r"\$\.jobs\[1\]\.service: must be a number, not a string",
    ),
    "negative service": (
        lambda p: p["jobs"][1].update(service=-5),
        r"\$\.jobs\[1\]\.service: must be a non-negative whole number",
    ),
    "reversed window": (
        lambda p: p["jobs"][1].update(time_windows=[[5, 1]]),
        r"\$\.jobs\[1\]\.time_windows\[0\]: time window ends",
    ),
    "no vehicles": (
        lambda p: p.pop("vehicles"),
        r"\$\.vehicles: is missing",
    ),
    "no tasks": (
        lambda p: p.update(jobs=[], shipments=[]),
        r"\$: has no jobs and no shipments",
    ),
    "shipment without delivery": (
        lambda p: p["shipments"][0].pop("delivery"),
        r"\$\.shipments\[0\]\.delivery: is missing",
    ),
}


@pytest.mark.parametrize(("edit", "message"), BAD_EDITS.values(), ids=BAD_EDITS.keys())
def test_unsupported_or_malformed_input_names_its_json_path(
    problem: dict[str, Any], edit: Any, message: str
) -> None:
    """Each unsupported or malformed field raises InstanceFormatError naming its JSON path."""
    edit(problem)
    with pytest.raises(InstanceFormatError, match=rf"^p\.json, {message}"):
        _parse(problem)


def test_matrix_without_location_index_is_refused(problem: dict[str, Any]) -> None:
    """With a matrix, a job without location_index is refused naming the job."""
    document = _with_matrix(problem, [[0] * 9 for _ in range(9)])
    del document["jobs"][2]["location_index"]
    with pytest.raises(InstanceFormatError, match=r"\$\.jobs\[2\]: has no 'location_index'"):
        _parse(document)


def test_matrix_index_out_of_range_is_refused(problem: dict[str, Any]) -> None:
    """A location_index beyond the matrix is refused naming that index's path."""
    document = _with_matrix(problem, [[0] * 9 for _ in range(9)])
    document["jobs"][0]["location_index"] = 9
    with pytest.raises(InstanceFormatError, match=r"\$\.jobs\[0\]\.location_index: matrix index 9"):
        _parse(document)


def test_ragged_matrix_is_refused(problem: dict[str, Any]) -> None:
    """A matrix row of the wrong length is refused naming the row."""
    matrix = [[0] * 9 for _ in range(9)]
    matrix[3].pop()
    with pytest.raises(InstanceFormatError, match=r"\$\.matrices\.car\.durations\[3\]: has 8"):
        _parse(_with_matrix(problem, matrix))


def test_invalid_json_names_line_and_column() -> None:
    """Broken JSON raises naming the line and column."""
    with pytest.raises(InstanceFormatError, match=r"p\.json, line 2, column \d+: not valid JSON"):
        parse_vroom('{"vehicles": [],\n "jobs": [}', source="p.json")


def test_truncated_file_names_where_it_ends() -> None:
    """A file cut short raises naming the line where the JSON stops."""
    text = TINY.read_text()
    cut = text[: len(text) // 2]
    with pytest.raises(InstanceFormatError, match=rf"line {len(cut.splitlines())}, column"):
        parse_vroom(cut)


def test_empty_file_is_refused_at_line_1() -> None:
    """An empty file raises InstanceFormatError naming line 1."""
    with pytest.raises(InstanceFormatError, match="line 1: the file is empty"):
        parse_vroom(" ")


def test_top_level_must_be_an_object() -> None:
    """A JSON array at the top is refused naming `$`."""
    with pytest.raises(InstanceFormatError, match=r"\$: must be an object, not an array"):
        parse_vroom("[1, 2]")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 50) | st.floats(-1e3, 1e3) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=20,
)


@given(st.data())
def test_damaged_problem_parses_or_raises_instance_format_error(data: st.DataObject) -> None:
    """Replacing any value of the problem by random JSON gives an instance or our error."""
    document = json.loads(TINY.read_text())
    paths: list[tuple[Any, Any]] = []

    def collect(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            paths.append((node, key))
            if isinstance(value, dict | list):
                collect(value)

    collect(document)
    node, key = data.draw(st.sampled_from(paths))
    node[key] = data.draw(json_values)
    damaged = copy.deepcopy(document)
    try:
        instance = _parse(damaged)
    except InstanceFormatError as error:
        assert re.match(r"p\.json, \$", str(error))
    else:
        assert instance.orders
