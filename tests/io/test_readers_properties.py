"""Property-based tests: random bytes and random CSV never crash the readers or lose rows."""

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from doorstep.errors import InputError
from doorstep.gate import validate
from doorstep.io.columns import FLEET_COLUMNS, ORDER_COLUMNS
from doorstep.io.tables import read_table_bytes
from manifests import CLEAN_ROWS, ORDER_HEADER, csv_table


@given(st.binary(max_size=2_000), st.sampled_from(["csv", "excel", "json", "yaml"]))
def test_random_bytes_give_a_table_or_an_input_error(data: bytes, fmt: str) -> None:
    """Any bytes either read or raise InputError: never another exception."""
    try:
        table = read_table_bytes(data, fmt)
    except InputError as error:
        assert error.message
    else:
        assert all(row.row >= 1 for row in table.rows)


cells = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12),
    st.sampled_from(["", "0", "-1", "60.17", "24.94", "09:00", "25:99", "1e400", "nan", "a,b"]),
    st.floats(allow_nan=True).map(str),
    st.integers(-(10**6), 10**6).map(str),
)


@st.composite
def random_csv(draw: st.DrawFn) -> tuple[str, int]:
    """A CSV whose header is canonical columns and whose rows are random cells."""
    columns = draw(st.lists(st.sampled_from(ORDER_COLUMNS), min_size=1, max_size=8, unique=True))
    rows = draw(st.lists(st.lists(cells, min_size=0, max_size=10), min_size=1, max_size=25))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    data_rows = 0
    for row in rows:
        writer.writerow(row)
        data_rows += any(cell.strip() for cell in row)
    return buffer.getvalue(), data_rows


@given(random_csv())
def test_random_csv_accounts_for_every_row(generated: tuple[str, int]) -> None:
    """Every non-blank row is either accepted or has an error; nothing is dropped."""
    text, data_rows = generated
    try:
        table = read_table_bytes(text.encode(), "csv")
    except InputError:
        assert data_rows == 0
        return
    report = validate(table)
    assert report.rows == data_rows
    assert report.accepted + len(report.rejected_rows) == report.rows
    assert report.rejected_rows <= {row.row for row in table.rows}


@st.composite
def random_fleet_csv(draw: st.DrawFn) -> str:
    """A fleet CSV whose header is canonical fleet columns and whose rows are random cells."""
    columns = draw(st.lists(st.sampled_from(FLEET_COLUMNS), min_size=1, max_size=8, unique=True))
    rows = draw(st.lists(st.lists(cells, min_size=0, max_size=10), min_size=1, max_size=8))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


@given(random_fleet_csv())
def test_random_fleet_never_crashes_the_gate(fleet_text: str) -> None:
    """Any fleet file is read or refused with InputError; every vehicle row is kept or named."""
    try:
        fleet = read_table_bytes(fleet_text.encode(), "csv", kind="fleet")
    except InputError:
        return
    report = validate(csv_table(ORDER_HEADER, CLEAN_ROWS), fleet)
    assert report.fleet is not None
    named = {f.row for f in report.findings if f.source == "fleet"}
    assert len(report.fleet.vehicles) + len(named) >= len(fleet.rows)
