"""Tests for reading files of every supported type into raw rows."""

import io
import json
from datetime import time
from pathlib import Path

import openpyxl
import pytest

from doorstep.errors import (
    CorruptFileError,
    EmptyInputError,
    InputError,
    NoRecognisedColumnsError,
    UnsupportedFormatError,
)
from doorstep.io.tables import read_table, read_table_bytes

CSV = "order_id,lat,lon,address\nA1,60.1,24.9,Bulevardi 1\nA2,60.2,24.8,Mäkelänkatu 2\n"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiters_are_detected(delimiter: str) -> None:
    """Comma, semicolon, tab and pipe files all read the same."""
    table = read_table_bytes(CSV.replace(",", delimiter).encode(), "csv")
    assert [r.values["order_id"] for r in table.rows] == ["A1", "A2"]
    assert table.rows[1].values["address"] == "Mäkelänkatu 2"


@pytest.mark.parametrize(
    "data",
    [
        CSV.encode("utf-8"),
        b"\xef\xbb\xbf" + CSV.encode("utf-8"),
        CSV.encode("latin-1"),
        CSV.encode("utf-16"),
    ],
    ids=["utf8", "utf8-bom", "latin1", "utf16-bom"],
)
def test_csv_encodings(data: bytes) -> None:
    """UTF-8 with/without BOM, UTF-16 with BOM and Latin-1 all decode correctly."""
    table = read_table_bytes(data, "csv")
    assert table.columns[0] == "order_id"
    assert table.rows[1].values["address"] == "Mäkelänkatu 2"


def test_row_numbers_are_spreadsheet_rows_with_blank_lines_counted() -> None:
    """Header is row 1; blank lines are skipped but keep the numbering."""
    table = read_table_bytes(b"order_id,lat\n\nA1,1\n,\nA2,2\n", "csv")
    assert [r.row for r in table.rows] == [3, 5]


def test_quoted_multiline_field_is_one_row() -> None:
    """A quoted field with a newline is one spreadsheet row."""
    table = read_table_bytes(b'order_id,notes\nA1,"line one\nline two"\nA2,x\n', "csv")
    assert [r.row for r in table.rows] == [2, 3]


def test_unknown_columns_are_reported_and_extra_values_counted() -> None:
    """Unrecognised header cells are listed; cells beyond the header are counted."""
    table = read_table_bytes(b"order_id,internal_ref\nA1,x,surplus\n", "csv")
    assert table.ignored_columns == ("internal_ref",)
    assert table.rows[0].extra_values == 1


def test_excel_rows_keep_sheet_numbering(tmp_path: Path) -> None:
    """An .xlsx with a blank first row reads with true sheet row numbers and typed cells."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append([])
    sheet.append(["Order ID", "Latitude", "Longitude", "From"])
    sheet.append(["A1", 60.1, 24.9, time(9, 30)])
    path = tmp_path / "orders.xlsx"
    workbook.save(path)
    table = read_table(path)
    assert table.rows[0].row == 3
    assert table.rows[0].values["window_start"] == time(9, 30)


def test_truncated_excel_is_a_clear_error(tmp_path: Path) -> None:
    """Half an .xlsx file gives CorruptFileError, not a library traceback."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["order_id"])  # type: ignore[union-attr]
    buffer = io.BytesIO()
    workbook.save(buffer)
    path = tmp_path / "orders.xlsx"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(CorruptFileError, match="truncated or damaged"):
        read_table(path)


def test_json_list_and_object_forms() -> None:
    """A list of orders or {"orders": [...]} with nested location and windows both read."""
    orders = [{"id": "A1", "location": {"lat": 60.1, "lon": 24.9}, "time_windows": ["9:00-11:00"]}]
    for document in (orders, {"orders": orders}):
        table = read_table_bytes(json.dumps(document).encode(), "json")
        assert table.rows[0].values == {
            "order_id": "A1",
            "lat": 60.1,
            "lon": 24.9,
            "time_windows": ["9:00-11:00"],
        }


def test_json_non_object_item_is_kept_as_a_problem_row() -> None:
    """A JSON item that is not an object becomes a row with a problem, not a crash."""
    table = read_table_bytes(b'[{"order_id": "A1"}, 42]', "json")
    assert table.rows[1].row == 2
    assert table.rows[1].problem is not None


def test_geojson_points_give_coordinates() -> None:
    """GeoJSON Point features read [lon, lat]; other geometries are problems."""
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [24.9, 60.1]},
                "properties": {"order_id": "A1"},
            },
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
                "properties": {"order_id": "A2"},
            },
        ],
    }
    table = read_table_bytes(json.dumps(collection).encode(), "json")
    assert table.format == "geojson"
    assert (table.rows[0].values["lat"], table.rows[0].values["lon"]) == (60.1, 24.9)
    assert "LineString" in (table.rows[1].problem or "")


@pytest.mark.parametrize(
    ("data", "fmt", "error"),
    [
        (b"", "csv", EmptyInputError),
        (b"  \n\n", "csv", EmptyInputError),
        (b"order_id,lat\n", "csv", EmptyInputError),
        (b"foo,bar\n1,2\n", "csv", NoRecognisedColumnsError),
        (b"PK\x03\x04rest-of-a-zip", "csv", CorruptFileError),
        (b"%PDF-1.7 ...", "csv", CorruptFileError),
        (b"{not json", "json", CorruptFileError),
        (b'{"something": 1}', "json", NoRecognisedColumnsError),
        (b"[]", "json", EmptyInputError),
        (b"not a workbook", "excel", CorruptFileError),
    ],
)
def test_bad_files_raise_input_errors(data: bytes, fmt: str, error: type[InputError]) -> None:
    """Each kind of unusable file raises its own InputError subclass."""
    with pytest.raises(error):
        read_table_bytes(data, fmt)


def test_unsupported_extension_and_missing_file(tmp_path: Path) -> None:
    """A .pdf or a missing path is an InputError naming the file."""
    pdf = tmp_path / "orders.pdf"
    pdf.write_bytes(b"%PDF")
    with pytest.raises(UnsupportedFormatError, match=r"orders\.pdf"):
        read_table(pdf)
    with pytest.raises(InputError, match="no such file"):
        read_table(tmp_path / "missing.csv")
