"""The Li & Lim reader on lc101 and on broken variants of it."""

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doorstep.domain import UNLIMITED, Instance, Load, Location, Metric, OrderKind, TimeWindow
from doorstep.errors import InstanceFormatError
from doorstep.io.instances.lilim import parse_lilim, read_lilim

DATA = Path(__file__).parents[2] / "data"
LC101 = DATA / "lc101.txt"


@pytest.fixture(scope="module")
def lc101() -> Instance:
    """The lc101 instance."""
    return read_lilim(LC101)


@pytest.fixture(scope="module")
def lc101_rows() -> list[list[str]]:
    """The non-blank lines of lc101, split into tokens."""
    return [line.split() for line in LC101.read_text().splitlines() if line.strip()]


def _text(rows: list[list[str]]) -> str:
    """Join token rows back into a file."""
    return "\n".join("\t".join(row) for row in rows)


def _edit(rows: list[list[str]], task: int, column: int, value: str) -> tuple[str, int]:
    """Set ``column`` of task ``task``'s row; return the text and that row's line number."""
    edited = [list(row) for row in rows]
    index = next(i for i, row in enumerate(edited) if i > 0 and row[0] == str(task))
    edited[index][column] = value
    return _text(edited), index + 1


def test_lc101_pairs_are_consistent(lc101: Instance) -> None:
    """Every delivery's paired_pickup is a PICKUP order with the same demand, used once."""
    by_id = {order.id: order for order in lc101.orders}
    deliveries = [o for o in lc101.orders if o.kind is OrderKind.DELIVERY]
    pickups = [o for o in lc101.orders if o.kind is OrderKind.PICKUP]
    assert deliveries
    assert len(deliveries) == len(pickups)
    for delivery in deliveries:
        assert delivery.paired_pickup is not None
        pickup = by_id[delivery.paired_pickup]
        assert pickup.kind is OrderKind.PICKUP
        assert pickup.demand == delivery.demand
    assert len({d.paired_pickup for d in deliveries}) == len(pickups)
    assert all(p.paired_pickup is None for p in pickups)


def test_lc101_matches_its_first_rows(lc101: Instance, lc101_rows: list[list[str]]) -> None:
    """The fleet comes from `25 200 1`, the depot from row 0 and order 1 from row 1."""
    assert lc101_rows[0] == ["25", "200", "1"]
    assert len(lc101.vehicles) == 25
    assert {v.capacity for v in lc101.vehicles} == {Load(200, UNLIMITED, UNLIMITED)}
    assert lc101.depots[0].location == Location(lat=50, lon=40)
    assert {v.shift for v in lc101.vehicles} == {TimeWindow(0, 1236)}
    first = lc101.orders[0]
    assert lc101_rows[2] == ["1", "45", "68", "-10", "912", "967", "90", "11", "0"]
    assert (first.id, first.kind, first.paired_pickup) == ("1", OrderKind.DELIVERY, "11")
    assert first.demand == Load(parcels=10)
    assert first.windows == (TimeWindow(912, 967),)
    assert first.service_s == 90
    assert first.location == Location(lat=68, lon=45)


def test_lc101_name_metric_and_totals_match_bks(lc101: Instance) -> None:
    """Name is the stem, travel is Euclidean, and tasks and demand match BKS.json."""
    facts = json.loads((DATA / "lilim_BKS.json").read_text())["lc101"]
    assert lc101.name == "lc101"
    assert lc101.metric is Metric.EUCLIDEAN
    assert len(lc101.orders) == facts["jobs"]
    loaded = sum(o.demand.parcels for o in lc101.orders if o.kind is OrderKind.PICKUP)
    assert loaded == facts["total_demand"]


def test_delivery_naming_the_wrong_pickup_is_refused(lc101_rows: list[list[str]]) -> None:
    """A delivery that names a pickup which does not name it back raises with its line."""
    text, line = _edit(lc101_rows, task=1, column=7, value="3")
    with pytest.raises(InstanceFormatError, match=rf"line {line}: delivery 1 names pickup 3"):
        parse_lilim(text, source="lc101.txt")


def test_first_task_row_must_be_the_depot(lc101_rows: list[list[str]]) -> None:
    """A table that does not start with task 0 is refused, naming the row's line."""
    edited = [list(row) for row in lc101_rows]
    edited[1][0] = "999"
    with pytest.raises(InstanceFormatError, match=r"line 2: the first row is task 999"):
        parse_lilim(_text(edited))


def test_pickup_naming_a_missing_delivery_is_refused(lc101_rows: list[list[str]]) -> None:
    """A pickup whose delivery does not exist raises with its line."""
    text, line = _edit(lc101_rows, task=3, column=8, value="999")
    with pytest.raises(InstanceFormatError, match=rf"line {line}: pickup 3 .* no such task"):
        parse_lilim(text)


def test_pair_with_different_demands_is_refused(lc101_rows: list[list[str]]) -> None:
    """A delivery that unloads more than its pickup loaded raises naming both lines."""
    pickup = next(row for row in lc101_rows[2:] if row[7] == "0")
    text, _ = _edit(lc101_rows, task=int(pickup[8]), column=3, value="-1000")
    with pytest.raises(InstanceFormatError, match=rf"pickup {pickup[0]} loads {pickup[3]} but"):
        parse_lilim(text)


def test_row_that_is_neither_pickup_nor_delivery_is_refused(lc101_rows: list[list[str]]) -> None:
    """A task with both a pickup and a delivery index raises with its line."""
    text, line = _edit(lc101_rows, task=1, column=8, value="3")
    with pytest.raises(InstanceFormatError, match=rf"line {line}: task 1 .* is neither"):
        parse_lilim(text)


def test_truncated_file_leaves_a_pickup_without_delivery(lc101_rows: list[list[str]]) -> None:
    """Dropping the last rows breaks a pair, and the error names the orphan's line."""
    text = _text(lc101_rows[:-5])
    with pytest.raises(InstanceFormatError, match=r"line \d+: pickup \d+ names delivery"):
        parse_lilim(text)


def test_short_last_row_names_its_line(lc101_rows: list[list[str]]) -> None:
    """A row cut short raises naming its line and the expected columns."""
    rows = [list(row) for row in lc101_rows]
    rows[-1] = rows[-1][:4]
    with pytest.raises(InstanceFormatError, match=rf"line {len(rows)}: expected 9 columns"):
        parse_lilim(_text(rows))


def test_non_numeric_field_names_its_line(lc101_rows: list[list[str]]) -> None:
    """A word in the x column raises naming the line."""
    text, line = _edit(lc101_rows, task=2, column=1, value="east")
    with pytest.raises(InstanceFormatError, match=rf"line {line}: x is 'east', not a number"):
        parse_lilim(text)


def test_bad_header_names_line_1() -> None:
    """A first line that is not `K Q speed` raises naming line 1."""
    with pytest.raises(InstanceFormatError, match="line 1: expected 3 numbers"):
        parse_lilim("25 200\n0 40 50 0 0 1236 0 0 0\n")


def test_empty_file_is_refused_at_line_1() -> None:
    """An empty file raises InstanceFormatError naming line 1."""
    with pytest.raises(InstanceFormatError, match="line 1: the file is empty"):
        parse_lilim("")


def test_depot_only_file_is_truncated() -> None:
    """A file with the header and depot only says it ends before the first task."""
    with pytest.raises(InstanceFormatError, match="line 3: the file ends before the first task"):
        parse_lilim("25 200 1\n0 40 50 0 0 1236 0 0 0\n")


@given(st.data())
def test_damaged_lc101_parses_or_raises_instance_format_error(data: st.DataObject) -> None:
    """Deleting or garbling any line or token gives an instance or an InstanceFormatError."""
    rows = [line.split() for line in LC101.read_text().splitlines() if line.strip()]
    index = data.draw(st.integers(0, len(rows) - 1))
    if data.draw(st.booleans()):
        column = data.draw(st.integers(0, len(rows[index]) - 1))
        rows[index][column] = data.draw(st.sampled_from(["", "0", "-5", "1e9", "inf", "x", "2.5"]))
    else:
        del rows[index]
    try:
        instance = parse_lilim(_text(rows), source="lc101.txt")
    except InstanceFormatError as error:
        assert re.search(r"lc101\.txt, line \d+: ", str(error))
    else:
        paired = {o.paired_pickup for o in instance.orders if o.kind is OrderKind.DELIVERY}
        assert paired <= {o.id for o in instance.orders if o.kind is OrderKind.PICKUP}
