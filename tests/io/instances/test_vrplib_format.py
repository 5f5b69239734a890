"""The VRPLIB reader on a hand-written CVRP file and on small inline variants."""

import math
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doorstep.domain import UNLIMITED, Load, Location, Metric, OrderKind, TimeWindow
from doorstep.errors import InstanceFormatError
from doorstep.io.instances._common import UNBOUNDED_SHIFT
from doorstep.io.instances.vrplib_format import parse_vrplib_text, read_vrplib

DATA = Path(__file__).parents[2] / "data"
TINY = DATA / "tiny-n7-k2.vrp"

VRPTW = """\
NAME : tw-n4
TYPE : VRPTW
DIMENSION : 4
EDGE_WEIGHT_TYPE : EUC_2D
CAPACITY : 50
NODE_COORD_SECTION
1 0 0
2 10 0
3 0 10
4 10 10
DEMAND_SECTION
1 0
2 10
3 20
4 30
TIME_WINDOW_SECTION
1 0 1000
2 100 200.5
3 300 400
4 0 1000
SERVICE_TIME_SECTION
1 0
2 10
3 20
4 30
DEPOT_SECTION
1
-1
EOF
"""

# Node 3 is the depot, so the reader must move its row and column to the front.
EXPLICIT_MATRIX = [
    [0, 12, 13, 14],
    [21, 0, 23, 24],
    [31, 32, 0, 34],
    [41, 42, 43, 0],
]
EXPLICIT = (
    "NAME : explicit-n4\nTYPE : CVRP\nDIMENSION : 4\nEDGE_WEIGHT_TYPE : EXPLICIT\n"
    "EDGE_WEIGHT_FORMAT : FULL_MATRIX\nCAPACITY : 9\nEDGE_WEIGHT_SECTION\n"
    + "\n".join(" ".join(map(str, row)) for row in EXPLICIT_MATRIX)
    + "\nDEMAND_SECTION\n1 1\n2 2\n3 0\n4 4\nDEPOT_SECTION\n3\n-1\nEOF\n"
)


def _line_of(text: str, content: str) -> int:
    """The 1-based number of the first line equal to ``content`` (stripped)."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.strip() == content)


def test_tiny_cvrp_has_6_orders_2_vehicles_and_the_depot() -> None:
    """The hand-written file gives depot node 1, orders 2-7 and 2 vehicles of capacity 10."""
    instance = read_vrplib(TINY)
    assert instance.name == "tiny-n7-k2"
    assert [d.id for d in instance.depots] == ["1"]
    assert instance.depots[0].location == Location(lat=0, lon=0)
    assert [o.id for o in instance.orders] == ["2", "3", "4", "5", "6", "7"]
    assert len(instance.vehicles) == 2
    assert {v.capacity for v in instance.vehicles} == {Load(10, UNLIMITED, UNLIMITED)}
    assert {v.shift for v in instance.vehicles} == {UNBOUNDED_SHIFT}
    assert instance.metric is Metric.EUCLIDEAN
    assert instance.matrix is None


def test_tiny_cvrp_orders_follow_their_rows() -> None:
    """Coordinates become (lat=y, lon=x) and demands become parcels, node by node."""
    text = TINY.read_text()
    instance = read_vrplib(TINY)
    for order in instance.orders:
        _, x, y = text.splitlines()[
            _line_of(text, "NODE_COORD_SECTION") + int(order.id) - 1
        ].split()
        _, demand = text.splitlines()[_line_of(text, "DEMAND_SECTION") + int(order.id) - 1].split()
        assert order.location == Location(lat=float(y), lon=float(x))
        assert order.demand == Load(parcels=int(demand))
        assert order.kind is OrderKind.DELIVERY
        assert order.windows == ()


def test_without_vehicles_keyword_there_is_one_vehicle_per_customer() -> None:
    """Dropping VEHICLES gives as many vehicles as customers."""
    text = TINY.read_text().replace("VEHICLES : 2\n", "")
    assert len(parse_vrplib_text(text).vehicles) == 6


def test_time_windows_and_service_times_are_read() -> None:
    """TIME_WINDOW and SERVICE_TIME sections give windows (rounded half up) and service."""
    instance = parse_vrplib_text(VRPTW)
    assert [o.windows for o in instance.orders] == [
        (TimeWindow(100, 201),),
        (TimeWindow(300, 400),),
        (TimeWindow(0, 1000),),
    ]
    assert [o.service_s for o in instance.orders] == [10, 20, 30]
    assert {v.shift for v in instance.vehicles} == {TimeWindow(0, 1000)}


def test_service_time_keyword_applies_to_every_order() -> None:
    """A SERVICE_TIME keyword (no section) gives every order that service time."""
    text = TINY.read_text().replace("CAPACITY : 10\n", "CAPACITY : 10\nSERVICE_TIME : 7\n")
    assert {o.service_s for o in parse_vrplib_text(text).orders} == {7}


def test_distance_keyword_limits_route_duration() -> None:
    """DISTANCE (route-length limit) becomes every vehicle's max_duration_s."""
    text = TINY.read_text().replace("CAPACITY : 10\n", "CAPACITY : 10\nDISTANCE : 200\n")
    assert {v.max_duration_s for v in parse_vrplib_text(text).vehicles} == {200}


def test_explicit_matrix_is_reordered_depot_first() -> None:
    """With the depot at node 3 the matrix is reordered to nodes 3, 1, 2, 4."""
    instance = parse_vrplib_text(EXPLICIT)
    order = [2, 0, 1, 3]
    expected = tuple(tuple(float(EXPLICIT_MATRIX[a][b]) for b in order) for a in order)
    assert instance.metric is Metric.EXPLICIT
    assert instance.matrix == expected
    assert instance.depots[0].id == "3"
    assert [o.id for o in instance.orders] == ["1", "2", "4"]
    assert [o.demand.parcels for o in instance.orders] == [1, 2, 4]
    assert {o.location for o in instance.orders} == {Location(0, 0)}


def test_lower_row_matrix_is_symmetric() -> None:
    """A LOWER_ROW matrix is expanded to a full symmetric matrix."""
    text = (
        EXPLICIT.replace("FULL_MATRIX", "LOWER_ROW").split("EDGE_WEIGHT_SECTION")[0]
        + "EDGE_WEIGHT_SECTION\n5\n6 7\n8 9 10\nDEMAND_SECTION\n1 1\n2 2\n3 0\n4 4\n"
        + "DEPOT_SECTION\n1\n-1\nEOF\n"
    )
    matrix = parse_vrplib_text(text).matrix
    assert matrix is not None
    assert matrix[1][0] == matrix[0][1] == 5
    assert matrix[3][2] == matrix[2][3] == 10


def test_rounded_euclidean_types_carry_their_matrix() -> None:
    """CEIL_2D keeps the rounding by carrying vrplib's ceiled matrix as EXPLICIT."""
    text = TINY.read_text().replace("EUC_2D", "CEIL_2D")
    instance = parse_vrplib_text(text)
    assert instance.metric is Metric.EXPLICIT
    assert instance.matrix is not None
    depot, last = instance.depots[0].location, instance.orders[-1].location
    assert instance.matrix[0][6] == math.ceil(
        math.dist((depot.lon, depot.lat), (last.lon, last.lat))
    )


def test_empty_file_is_refused_at_line_1() -> None:
    """An empty file raises InstanceFormatError naming line 1."""
    with pytest.raises(InstanceFormatError, match="line 1: the file is empty"):
        parse_vrplib_text("\n")


def test_non_numeric_coordinate_names_its_line() -> None:
    """A word in NODE_COORD_SECTION raises naming its line."""
    text = TINY.read_text().replace("\n4 6 8\n", "\n4 six 8\n")
    with pytest.raises(InstanceFormatError, match=rf"line {_line_of(text, '4 six 8')}: .*'six'"):
        parse_vrplib_text(text)


def test_truncated_section_names_the_section() -> None:
    """A DEMAND_SECTION with a row missing names the section's line and the counts."""
    text = TINY.read_text().replace("\n7 3\n", "\n")
    line = _line_of(text, "DEMAND_SECTION")
    with pytest.raises(InstanceFormatError, match=rf"line {line}: DEMAND_SECTION lists 6 nodes"):
        parse_vrplib_text(text)


def test_file_cut_before_the_depot_section_is_refused() -> None:
    """A file that ends before DEPOT_SECTION says the section is missing."""
    text = TINY.read_text().split("DEPOT_SECTION")[0]
    with pytest.raises(InstanceFormatError, match=r"line \d+: the file has no DEPOT_SECTION"):
        parse_vrplib_text(text)


def test_nodes_out_of_order_are_refused() -> None:
    """Rows listed out of id order are refused, since vrplib goes by position."""
    text = TINY.read_text().replace("2 3 4\n3 -3 4\n", "3 -3 4\n2 3 4\n")
    with pytest.raises(InstanceFormatError, match=rf"line {_line_of(text, '3 -3 4')}: .*node 3"):
        parse_vrplib_text(text)


def test_wrong_column_count_names_its_line() -> None:
    """A coordinate row with a third coordinate names its line."""
    text = TINY.read_text().replace("\n5 0 -5\n", "\n5 0 -5 1\n")
    with pytest.raises(InstanceFormatError, match=rf"line {_line_of(text, '5 0 -5 1')}: "):
        parse_vrplib_text(text)


def test_several_depots_are_refused() -> None:
    """Two depots are refused: nothing says which vehicles start where."""
    text = TINY.read_text().replace("DEPOT_SECTION\n1\n", "DEPOT_SECTION\n1\n2\n")
    with pytest.raises(InstanceFormatError, match="lists 2 depots"):
        parse_vrplib_text(text)


def test_unknown_section_is_refused_not_dropped() -> None:
    """A section Doorstep does not read (pickup and delivery) is refused with its line."""
    text = TINY.read_text().replace("DEPOT_SECTION", "PICKUP_SECTION\n1 0\nDEPOT_SECTION")
    line = _line_of(text, "PICKUP_SECTION")
    with pytest.raises(InstanceFormatError, match=rf"line {line}: Doorstep does not read PICKUP"):
        parse_vrplib_text(text)


def test_unsupported_edge_weight_type_names_its_line() -> None:
    """GEO distances are refused at the EDGE_WEIGHT_TYPE line."""
    text = TINY.read_text().replace("EUC_2D", "GEO")
    with pytest.raises(InstanceFormatError, match="line 5: GEO is not supported"):
        parse_vrplib_text(text)


def test_unsupported_problem_type_names_its_line() -> None:
    """A TSP file is refused at its TYPE line."""
    with pytest.raises(InstanceFormatError, match="line 3: type TSP is not supported"):
        parse_vrplib_text(TINY.read_text().replace("TYPE : CVRP", "TYPE : TSP"))


def test_explicit_matrix_of_the_wrong_size_is_refused() -> None:
    """A FULL_MATRIX with a row missing is refused naming EDGE_WEIGHT_SECTION's line."""
    text = EXPLICIT.replace("41 42 43 0\n", "")
    line = _line_of(text, "EDGE_WEIGHT_SECTION")
    with pytest.raises(InstanceFormatError, match=rf"line {line}: the edge weights form a 3x4"):
        parse_vrplib_text(text)


def test_huge_vehicle_count_is_refused() -> None:
    """A VEHICLES value of a billion is a damaged count, refused at its line."""
    text = TINY.read_text().replace("VEHICLES : 2", "VEHICLES : 1000000000")
    with pytest.raises(InstanceFormatError, match="line 7: the number of vehicles is 1000000000"):
        parse_vrplib_text(text)


@given(st.data())
def test_damaged_tiny_file_parses_or_raises_instance_format_error(data: st.DataObject) -> None:
    """Deleting or garbling any line or token gives an instance or an InstanceFormatError."""
    lines = TINY.read_text().splitlines()
    index = data.draw(st.integers(0, len(lines) - 1))
    tokens = lines[index].split()
    if tokens and data.draw(st.booleans()):
        column = data.draw(st.integers(0, len(tokens) - 1))
        tokens[column] = data.draw(st.sampled_from(["", "0", "-1", "9", "1e9", "nan", "x", ":"]))
        lines[index] = " ".join(tokens)
    else:
        del lines[index]
    try:
        instance = parse_vrplib_text("\n".join(lines), source="tiny.vrp")
    except InstanceFormatError as error:
        assert re.search(r"tiny\.vrp, (line \d+|whole file): ", str(error))
    else:
        assert instance.orders
