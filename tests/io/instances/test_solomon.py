"""The Solomon reader on C101 and on broken variants of it."""

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doorstep.domain import UNLIMITED, Load, Location, Metric, OrderKind, TimeWindow
from doorstep.errors import InputError, InstanceFormatError
from doorstep.io.instances.solomon import parse_solomon, read_solomon

DATA = Path(__file__).parents[2] / "data"
C101 = DATA / "C101.txt"


@pytest.fixture(scope="module")
def c101_text() -> str:
    """The text of C101."""
    return C101.read_text()


def _replace_token(text: str, line: int, column: int, value: str) -> str:
    """Return ``text`` with token ``column`` of 1-based ``line`` replaced by ``value``."""
    lines = text.splitlines()
    tokens = lines[line - 1].split()
    tokens[column] = value
    lines[line - 1] = " ".join(tokens)
    return "\n".join(lines)


def _line_of(text: str, prefix: str) -> int:
    """The 1-based number of the first line whose tokens start with ``prefix``'s tokens."""
    wanted = prefix.split()
    for number, line in enumerate(text.splitlines(), start=1):
        if line.split()[: len(wanted)] == wanted:
            return number
    raise AssertionError(f"no line starts with {prefix!r}")


def test_c101_has_100_orders_and_25_vehicles_of_capacity_200() -> None:
    """C101 gives 100 delivery orders and 25 vehicles carrying 200 parcels each."""
    instance = read_solomon(C101)
    assert instance.name == "C101"
    assert len(instance.orders) == 100
    assert len(instance.vehicles) == 25
    assert {v.capacity for v in instance.vehicles} == {Load(200, UNLIMITED, UNLIMITED)}
    assert len({v.id for v in instance.vehicles}) == 25
    assert all(order.kind is OrderKind.DELIVERY for order in instance.orders)
    assert instance.metric is Metric.EUCLIDEAN
    assert instance.matrix is None


def test_c101_depot_is_customer_0_at_40_50() -> None:
    """The depot is customer 0 at x=40, y=50 and its window (0, 1236) is every shift."""
    instance = read_solomon(C101)
    (depot,) = instance.depots
    assert depot.id == "0"
    assert depot.location == Location(lat=50, lon=40)
    assert {v.shift for v in instance.vehicles} == {TimeWindow(0, 1236)}
    assert {v.depot_id for v in instance.vehicles} == {"0"}


def test_c101_customer_1_matches_its_row() -> None:
    """Customer 1 is at (45, 68) with window 912-967, service 90 and demand 10."""
    order = read_solomon(C101).orders[0]
    assert order.id == "1"
    assert order.location == Location(lat=68, lon=45)
    assert order.windows == (TimeWindow(912, 967),)
    assert order.service_s == 90
    assert order.demand == Load(parcels=10)


def test_c101_total_demand_matches_bks() -> None:
    """The demands add up to the total_demand BKS.json records for C101."""
    facts = json.loads((DATA / "solomon_BKS.json").read_text())["C101"]
    instance = read_solomon(C101)
    assert sum(order.demand.parcels for order in instance.orders) == facts["total_demand"]
    assert len(instance.orders) == facts["jobs"]
    assert len(instance.vehicles) == facts["vehicles"]


def test_orders_keep_the_file_order(c101_text: str) -> None:
    """Orders come in the file's row order, ids 1 to 100."""
    instance = parse_solomon(c101_text)
    assert [order.id for order in instance.orders] == [str(i) for i in range(1, 101)]


def test_decimal_times_are_rounded_half_up(c101_text: str) -> None:
    """A ready time of 912.5 becomes 913 and a service of 89.4 becomes 89."""
    line = _line_of(c101_text, "1 45 68")
    text = _replace_token(_replace_token(c101_text, line, 4, "912.5"), line, 6, "89.4")
    order = parse_solomon(text).orders[0]
    assert order.windows == (TimeWindow(913, 967),)
    assert order.service_s == 89


def test_empty_file_is_refused_at_line_1() -> None:
    """An empty (or blank) file raises InstanceFormatError naming line 1."""
    with pytest.raises(InstanceFormatError, match="line 1: the file is empty"):
        parse_solomon("  \n\n", source="empty.txt")


def test_truncated_file_names_the_short_line(c101_text: str) -> None:
    """A file cut in the middle of a row names that row's line."""
    cut = c101_text[: c101_text.index("912") + 3]
    last = len(cut.splitlines())
    with pytest.raises(InstanceFormatError, match=rf"C101\.txt, line {last}: expected 7 columns"):
        parse_solomon(cut, source="C101.txt")


def test_file_cut_before_the_table_names_where_it_ends(c101_text: str) -> None:
    """A file that stops after the vehicle section says where the table was expected."""
    cut = "\n".join(c101_text.splitlines()[:5])
    with pytest.raises(InstanceFormatError, match=r"line 6: the file ends where the 'CUSTOMER'"):
        parse_solomon(cut)


def test_non_numeric_field_names_its_line(c101_text: str) -> None:
    """A letter in the DEMAND column raises an error naming the line and the column."""
    line = _line_of(c101_text, "5 42 65")
    text = _replace_token(c101_text, line, 3, "ten")
    with pytest.raises(InstanceFormatError, match=rf"line {line}: DEMAND is 'ten', not a number"):
        parse_solomon(text)


def test_fractional_demand_is_refused(c101_text: str) -> None:
    """A demand of 10.5 is refused rather than rounded."""
    line = _line_of(c101_text, "1 45 68")
    with pytest.raises(InstanceFormatError, match=rf"line {line}: DEMAND is 10.5, not a whole"):
        parse_solomon(_replace_token(c101_text, line, 3, "10.5"))


def test_non_numeric_vehicle_count_names_its_line(c101_text: str) -> None:
    """A vehicle count that is not a number names line 5."""
    with pytest.raises(InstanceFormatError, match="line 5: NUMBER is 'x'"):
        parse_solomon(_replace_token(c101_text, 5, 0, "x"))


def test_missing_header_keyword_is_named(c101_text: str) -> None:
    """A file whose third line is not VEHICLE says what was expected there."""
    text = c101_text.replace("VEHICLE", "TRUCKS", 1)
    with pytest.raises(
        InstanceFormatError, match=r"line 3: expected a line starting with 'VEHICLE'"
    ):
        parse_solomon(text)


def test_duplicate_customer_is_refused(c101_text: str) -> None:
    """A customer number used twice names the second line and the first."""
    line = _line_of(c101_text, "2 45 70")
    first = _line_of(c101_text, "1 45 68")
    text = _replace_token(c101_text, line, 0, "1")
    with pytest.raises(InstanceFormatError, match=rf"line {line}: customer 1 .* line {first}"):
        parse_solomon(text)


def test_first_row_must_be_the_depot(c101_text: str) -> None:
    """A table that does not start with customer 0 is refused."""
    line = _line_of(c101_text, "0 40 50")
    with pytest.raises(InstanceFormatError, match=rf"line {line}: the first row is customer 999"):
        parse_solomon(_replace_token(c101_text, line, 0, "999"))


def test_window_ending_before_it_starts_names_its_line(c101_text: str) -> None:
    """A due date before the ready time becomes an InstanceFormatError with the line."""
    line = _line_of(c101_text, "1 45 68")
    with pytest.raises(InstanceFormatError, match=rf"line {line}: time window ends"):
        parse_solomon(_replace_token(c101_text, line, 5, "100"))


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    """A path that does not exist raises InputError naming it."""
    with pytest.raises(InputError, match="no such file"):
        read_solomon(tmp_path / "nope.txt")


@given(st.data())
def test_damaged_c101_parses_or_raises_instance_format_error(data: st.DataObject) -> None:
    """Deleting or garbling any line or token gives an instance or an InstanceFormatError."""
    lines = C101.read_text().splitlines()
    index = data.draw(st.integers(0, len(lines) - 1))
    tokens = lines[index].split()
    if tokens and data.draw(st.booleans()):
        column = data.draw(st.integers(0, len(tokens) - 1))
        tokens[column] = data.draw(st.sampled_from(["", "-1", "1e9", "nan", "x", "0.5", "--"]))
        lines[index] = " ".join(tokens)
    else:
        del lines[index]
    try:
        instance = parse_solomon("\n".join(lines), source="C101.txt")
    except InstanceFormatError as error:
        assert re.search(r"C101\.txt, line \d+: ", str(error))
    else:
        assert instance.orders


@given(st.text(max_size=300))
def test_random_text_never_escapes_as_another_exception(text: str) -> None:
    """Arbitrary text gives an instance or an InstanceFormatError, never a bare error."""
    try:
        parse_solomon(text)
    except InstanceFormatError as error:
        assert "line " in str(error)
