"""Hostile and broken files: each reader answers one clear InputError in bounded memory and time."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doorstep.errors import CorruptFileError, InputError, TooLargeError
from doorstep.io import limits
from doorstep.io.tables import read_table, read_table_bytes

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def xlsx(rows_xml: str, path: Path, dimension: str | None = None) -> Path:
    """Write a one-sheet .xlsx by hand, with ``rows_xml`` as its sheetData."""
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": (
            f'<worksheet xmlns="{_MAIN}">{dim}<sheetData>{rows_xml}</sheetData></worksheet>'
        ),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return path


def text_cell(ref: str, value: str) -> str:
    """An inline-string cell."""
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


HEADER = '<row r="1">' + text_cell("A1", "order_id") + text_cell("B1", "lat") + "</row>"


def read_bounded(path: Path, memory_gib: int = 2) -> subprocess.CompletedProcess[str]:
    """Read ``path`` in a child process limited to ``memory_gib`` of address space and 60 s."""
    code = textwrap.dedent(
        f"""
        import resource, sys
        limit = {memory_gib} * 1024**3
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        from doorstep.errors import InputError
        from doorstep.io.tables import read_table
        try:
            read_table(sys.argv[1])
        except InputError as exc:
            print(exc.code, exc)
            sys.exit(2)
        print("read")
        """
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_sparse_sheet_is_refused_before_it_is_loaded(tmp_path: Path) -> None:
    """Cells in A1 and XFD1048576 (512 GiB as a dense grid): too_large, no native abort."""
    rows = HEADER + '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    path = xlsx(rows, tmp_path / "sparse.xlsx", "A1:XFD1048576")
    assert path.stat().st_size < 2_000
    result = read_bounded(path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stdout.startswith("too_large") and "XFD1048576" in result.stdout


def test_cells_without_references_are_placed_as_the_reader_places_them(tmp_path: Path) -> None:
    """A row of 20,001 unreferenced cells and a last row far down: too_large, not an abort."""
    wide = (
        "<row>"
        + text_cell("A1", "order_id").replace(' r="A1"', "")
        + "<c><v>1</v></c>" * 20_000
        + "</row>"
    )
    rows = wide + '<row r="1048576"><c><v>1</v></c></row>'
    result = read_bounded(xlsx(rows, tmp_path / "wide.xlsx"))
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stdout.startswith("too_large") and "20,001 columns" in result.stdout


def test_sheet_within_the_caps_still_reads(tmp_path: Path) -> None:
    """A declared dimension of the whole sheet with two real rows is fine: only cells count."""
    rows = HEADER + '<row r="2">' + text_cell("A2", "X-1") + '<c r="B2"><v>60.1</v></c></row>'
    table = read_table(xlsx(rows, tmp_path / "ok.xlsx", "A1:XFD1048576"))
    assert [r.values for r in table.rows] == [{"order_id": "X-1", "lat": 60.1}]


def test_too_many_columns_in_a_sheet(tmp_path: Path) -> None:
    """A cell in column GS (201) is beyond the 200-column cap, named in the message."""
    rows = HEADER + '<row r="2"><c r="GS2"><v>1</v></c></row>'
    with pytest.raises(TooLargeError, match="GS2"):
        read_table(xlsx(rows, tmp_path / "wide.xlsx"))


def test_decompression_bomb_is_refused_unread(tmp_path: Path) -> None:
    """A sheet part that inflates 1,000 times is refused from the archive's directory."""
    path = xlsx(HEADER, tmp_path / "bomb.xlsx")
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b" " * (50 * 1024**2))
    assert path.stat().st_size < 200_000
    with pytest.raises(TooLargeError, match="decompression bomb"):
        read_table(path)


def test_ods_repeated_cells_are_counted(tmp_path: Path) -> None:
    """An OpenDocument cell repeated over 16,384 columns and a million rows is too_large."""
    content = (
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"><office:body>'
        '<office:spreadsheet><table:table table:name="S">'
        '<table:table-row table:number-rows-repeated="1000000">'
        '<table:table-cell table:number-columns-repeated="16384" office:value-type="float"'
        ' office:value="1"/></table:table-row></table:table></office:spreadsheet>'
        "</office:body></office:document-content>"
    )
    path = tmp_path / "big.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content)
    result = read_bounded(path)
    assert result.returncode == 2 and result.stdout.startswith("too_large"), result.stderr[-2000:]


def test_deeply_nested_json_is_corrupt_not_a_crash(tmp_path: Path) -> None:
    """100,000 '[' and a value nested 900 levels down: corrupt_file, not RecursionError."""
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CorruptFileError, match="nested"):
        read_table(deep)
    inner = tmp_path / "inner.json"
    inner.write_text('[{"order_id": ' + "[" * 900 + "]" * 900 + "}]")
    with pytest.raises(CorruptFileError, match="nested more than 64 levels"):
        read_table(inner)


def test_billion_laughs_yaml_is_refused(tmp_path: Path) -> None:
    """Nine levels of nine aliases (10^9 values when expanded): too_large, at once."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    lines.append("vehicles: [{vehicle_id: *a8, depot_lat: 60.1, depot_lon: 24.9}]")
    path = tmp_path / "fleet.yaml"
    path.write_text("\n".join(lines))
    with pytest.raises(TooLargeError, match="billion laughs"):
        read_table(path, kind="fleet")


def test_huge_integer_in_json_is_corrupt(tmp_path: Path) -> None:
    """A 5,000-digit number (over Python's int parsing limit) is corrupt_file, not ValueError."""
    path = tmp_path / "big.json"
    path.write_text('[{"order_id": "A", "lat": ' + "9" * 5000 + "}]")
    with pytest.raises(CorruptFileError):
        read_table(path)


def test_too_many_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond the row cap (lowered here) a CSV and a JSON list are too_large."""
    monkeypatch.setattr(limits, "MAX_DATA_ROWS", 3)
    csv_text = "order_id,lat,lon\n" + "".join(f"A{k},60.1,24.9\n" for k in range(4))
    with pytest.raises(TooLargeError, match="more than 3"):
        read_table_bytes(csv_text.encode(), "csv")
    items = ",".join(f'{{"order_id": "A{k}"}}' for k in range(4))
    with pytest.raises(TooLargeError, match="4 data rows"):
        read_table_bytes(f"[{items}]".encode(), "json")


def test_too_wide_header() -> None:
    """A CSV header of 201 named columns is too_large."""
    header = ",".join(["order_id", *(f"c{k}" for k in range(200))])
    with pytest.raises(TooLargeError, match="201 columns"):
        read_table_bytes(f"{header}\nA,1\n".encode(), "csv")


@pytest.mark.parametrize("fmt", ["csv", "excel", "json", "yaml"])
@settings(max_examples=40, deadline=None)
@given(data=st.binary(min_size=1, max_size=2_000))
def test_binary_garbage_is_an_input_error(fmt: str, data: bytes) -> None:
    """Any bytes in any reader: a table or an InputError, never another exception."""
    with contextlib.suppress(InputError):
        read_table_bytes(data, fmt)


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        ("order_id,lat\nA,60.1\n".encode("utf-16-le"), "csv"),
        ('[{"order_id": "A"}]'.encode("utf-32"), "json"),
        (b"%PDF-1.7 binary", "json"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "yaml"),
        (b"PK\x03\x04 not really a zip", "excel"),
    ],
)
def test_wrong_encodings_and_binary_files(data: bytes, fmt: str) -> None:
    """UTF-16 without BOM, UTF-32, a PDF, a PNG, a fake zip: corrupt_file with a message."""
    with pytest.raises(CorruptFileError):
        read_table_bytes(data, fmt)
