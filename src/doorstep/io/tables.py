"""Read a manifest file of any supported type into rows of raw values.

Supported: CSV and other delimited text (``,`` ``;`` tab ``|``; UTF-8 with or
without a byte-order mark, UTF-16 with a byte-order mark, else Windows-1252 /
Latin-1), Excel workbooks (``.xlsx``, ``.xlsm``, ``.xls``, ``.ods`` through
calamine), JSON (a list of objects, or ``{"orders": [...]}`` /
``{"vehicles": [...]}``), GeoJSON ``FeatureCollection`` of ``Point`` features,
and YAML for fleet files.

Row numbers are the ones a spreadsheet shows (header = 1, first data row = 2,
blank lines counted but skipped). In JSON and GeoJSON a row number is the 1-based
position in the list.

Every reader keeps to the caps of :mod:`doorstep.io.limits` (rows, columns,
unpacked size, nesting, YAML expansion), so a hostile or broken file gets one
clear :class:`~doorstep.errors.InputError` in bounded memory and time.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from doorstep.errors import (
    CorruptFileError,
    EmptyInputError,
    InputError,
    NoRecognisedColumnsError,
    UnsupportedFormatError,
)
from doorstep.io import limits
from doorstep.io.columns import FLEET_COLUMNS, ORDER_COLUMNS, match_columns, normalise

TEXT_SUFFIXES = frozenset({".csv", ".tsv", ".txt", ".tab"})
EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"})
JSON_SUFFIXES = frozenset({".json", ".geojson"})
YAML_SUFFIXES = frozenset({".yaml", ".yml"})
DELIMITERS = (",", ";", "\t", "|")

_MAGIC = {
    b"PK\x03\x04": "a ZIP archive (an .xlsx workbook?)",
    b"%PDF": "a PDF document",
    b"\xd0\xcf\x11\xe0": "an old Excel/Office document (.xls?)",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
}


@dataclass(frozen=True, slots=True)
class RawRow:
    """One data row: its spreadsheet row number and its values by canonical column.

    ``extra_values`` counts cells beyond the header (a sign of an unquoted
    delimiter); ``problem`` says why a JSON item could not be read as a row.
    """

    row: int
    values: dict[str, Any]
    extra_values: int = 0
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class RawTable:
    """A file read into rows, with what its header held."""

    source: str
    format: str
    columns: tuple[str, ...]
    ignored_columns: tuple[str, ...]
    rows: list[RawRow] = field(default_factory=list)
    depots: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    """Depot id -> raw ``(lat, lon)``, from a JSON/YAML fleet's separate ``depots`` list."""


def read_table(path: str | Path, kind: str = "orders") -> RawTable:
    """Read an orders or fleet file into a :class:`RawTable`.

    Parameters
    ----------
    path
        The file. Its extension picks the reader.
    kind
        ``"orders"`` or ``"fleet"``: which column vocabulary to match.

    Raises
    ------
    InputError
        The file is missing, of an unsupported type, empty, damaged, or has no
        recognisable column. The message names the file and says what to do.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"{path}: no such file.", hint="Check the path (and that it is a file, not a folder)."
        )
    suffix = path.suffix.lower()
    fmt = _format_for(suffix, path.name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}).") from None
    return read_table_bytes(data, fmt, kind=kind, source=str(path))


def _format_for(suffix: str, name: str) -> str:
    if suffix in TEXT_SUFFIXES:
        return "csv"
    if suffix in EXCEL_SUFFIXES:
        return "excel"
    if suffix in JSON_SUFFIXES:
        return "json"
    if suffix in YAML_SUFFIXES:
        return "yaml"
    raise UnsupportedFormatError(
        f"{name}: Doorstep does not read '{suffix or 'extensionless'}' files.",
        hint="Use CSV (.csv/.tsv/.txt), Excel (.xlsx/.xls/.ods), JSON/GeoJSON, or YAML for fleets.",
    )


def read_table_bytes(
    data: bytes, fmt: str, kind: str = "orders", source: str = "<input>"
) -> RawTable:
    """Read the bytes of a file in format ``fmt`` (``csv``, ``excel``, ``json``, ``yaml``).

    Raises
    ------
    InputError
        As :func:`read_table`.
    """
    if not data.strip():
        raise EmptyInputError(
            f"{source} is empty.", hint="Export the manifest again with its rows."
        )
    if fmt == "csv":
        return _read_text_table(_decode(data, source), kind, source)
    if fmt == "excel":
        return _read_excel(data, kind, source)
    if fmt in ("json", "yaml"):
        return _read_structured(data, fmt, kind, source)
    raise UnsupportedFormatError(f"{source}: unknown format {fmt!r}.")


# ----------------------------------------------------------------------------- text


def _decode(data: bytes, source: str) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise CorruptFileError(f"{source}: damaged UTF-16 text.") from None
    head = data[:8192]
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise CorruptFileError(
                f"{source} is not a text file: it looks like {what}.",
                hint="Give it its real extension (.xlsx for Excel) or export it as CSV.",
            )
    if b"\x00" in head:
        raise CorruptFileError(
            f"{source} is not a text file (it contains NUL bytes).",
            hint="Export the manifest as CSV, Excel or JSON.",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _first_record(text: str, delimiter: str) -> list[str]:
    """The first non-blank record of ``text`` split on ``delimiter`` (the header)."""
    for record in csv.reader(io.StringIO(text), delimiter=delimiter):
        if any(cell.strip() for cell in record):
            return record
    return []


def _read_text_table(text: str, kind: str, source: str) -> RawTable:
    best: tuple[int, int, str] | None = None
    try:
        for delimiter in DELIMITERS:
            header = _first_record(text, delimiter)
            score = (len(match_columns(header, kind)), len(header), delimiter)
            if best is None or score[:2] > best[:2]:
                best = score
    except csv.Error as exc:
        raise CorruptFileError(f"{source}: not readable as CSV ({exc}).") from None
    assert best is not None
    delimiter = best[2]
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _rows_from_records(enumerate(records), kind, source, "csv")
    except csv.Error as exc:
        raise CorruptFileError(
            f"{source}: not readable as CSV after line {records.line_num} ({exc})."
        ) from None


def _rows_from_records(
    records: Iterable[tuple[int, Sequence[Any]]], kind: str, source: str, fmt: str
) -> RawTable:
    header: Sequence[Any] | None = None
    columns: dict[int, str] = {}
    column_items: list[tuple[int, str]] = []
    width = 0
    rows: list[RawRow] = []
    filled = _text_row_filled if fmt == "csv" else _row_filled
    for index, record in records:
        if not filled(record):
            continue
        if header is None:
            header = record
            used = max(i for i, cell in enumerate(record) if _filled(cell)) + 1
            if used > limits.MAX_COLUMNS:
                raise limits.too_many_columns(source, used)
            columns = match_columns(header, kind)
            _require_columns(columns, header, kind, source)
            column_items = list(columns.items())
            width = max(columns) + 1
            continue
        if len(record) >= width:
            values = {name: record[i] for i, name in column_items}
        else:
            values = {name: record[i] for i, name in column_items if i < len(record)}
        extra = 0
        if len(record) > len(header):
            extra = sum(1 for cell in record[len(header) :] if _filled(cell))
        if len(rows) == limits.MAX_DATA_ROWS:
            raise limits.too_many_rows(source, f"more than {limits.MAX_DATA_ROWS:,}")
        rows.append(RawRow(row=index + 1, values=values, extra_values=extra))
    if header is None:
        raise EmptyInputError(
            f"{source} is empty.", hint="Export the manifest again with its rows."
        )
    if not rows:
        raise EmptyInputError(
            f"{source} has a header but no data rows.",
            hint="Add at least one row below the header.",
        )
    names = [str(cell).strip() for cell in header]
    ignored = tuple(name for i, name in enumerate(names) if i not in columns and name)
    return RawTable(source, fmt, tuple(columns.values()), ignored, rows)


def _row_filled(record: Sequence[Any]) -> bool:
    return any(_filled(cell) for cell in record)


def _text_row_filled(record: Sequence[str]) -> bool:
    """The same test for CSV rows, where every cell is text: one C-level join, no loop."""
    return any(record) and not "".join(record).isspace()


def _filled(cell: object) -> bool:
    return cell is not None and not (isinstance(cell, str) and not cell.strip())


def _require_columns(
    columns: Mapping[int, str], header: Iterable[Any], kind: str, source: str
) -> None:
    if columns:
        return
    seen = ", ".join(repr(str(cell)) for cell in header if _filled(cell))
    expected = ", ".join(ORDER_COLUMNS if kind == "orders" else FLEET_COLUMNS)
    raise NoRecognisedColumnsError(
        f"{source}: none of the columns ({seen[:300]}) is one Doorstep knows.",
        hint=f"Name them as in: {expected}.",
    )


# ---------------------------------------------------------------------------- excel


def _read_excel(data: bytes, kind: str, source: str) -> RawTable:
    """Read the first sheet with a recognisable header, one sheet and one row at a time.

    :func:`doorstep.io.limits.check_workbook` runs first: calamine holds a sheet
    as a dense grid from A1 to its last cell and aborts the process when that
    grid does not fit in memory, so a sheet's extent is checked before it is loaded.
    """
    import python_calamine

    limits.check_workbook(data, source)
    last_error: NoRecognisedColumnsError | EmptyInputError | None = None
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        for index in range(len(workbook.sheet_names)):
            sheet = workbook.get_sheet_by_index(index)
            try:
                return _rows_from_records(enumerate(sheet.iter_rows()), kind, source, "excel")
            except (NoRecognisedColumnsError, EmptyInputError) as exc:
                last_error = exc
    except InputError:
        raise
    except BaseException as exc:  # calamine raises its own errors and Rust panics
        if isinstance(exc, KeyboardInterrupt | SystemExit | MemoryError):
            raise
        raise CorruptFileError(
            f"{source} cannot be read as a workbook; is it truncated or damaged? ({exc})",
            hint="Open it in a spreadsheet program and save it again.",
        ) from None
    if last_error is None:
        raise EmptyInputError(f"{source} has no sheets.")
    raise last_error


# ------------------------------------------------------------------------ json/yaml


def _read_structured(data: bytes, fmt: str, kind: str, source: str) -> RawTable:
    text = _decode(data, source)
    document = _parse_document(text, fmt, source)
    is_geojson = isinstance(document, dict) and document.get("type") == "FeatureCollection"
    items = _items(document, kind, source)
    if not items:
        raise EmptyInputError(f"{source} holds no {kind}.", hint="Add at least one.")
    if len(items) > limits.MAX_DATA_ROWS:
        raise limits.too_many_rows(source, len(items))
    lookup_columns: dict[str, None] = {}
    ignored: dict[str, None] = {}
    rows: list[RawRow] = []
    for position, item in enumerate(items, start=1):
        if is_geojson:
            flat, problem = _flatten_feature(item)
        elif isinstance(item, dict):
            flat, problem = _flatten(item), None
        else:
            flat, problem = {}, f"item is a {type(item).__name__}, not an object"
        keys = list(flat)
        matched = match_columns(keys, kind)
        values = {name: flat[keys[i]] for i, name in matched.items()}
        lookup_columns.update(dict.fromkeys(matched.values()))
        ignored.update(dict.fromkeys(k for i, k in enumerate(keys) if i not in matched))
        rows.append(RawRow(row=position, values=values, problem=problem))
    if not lookup_columns:
        _require_columns({}, list(ignored), kind, source)
    fmt = "geojson" if is_geojson else fmt
    return RawTable(source, fmt, tuple(lookup_columns), tuple(ignored), rows, _depots(document))


def _parse_document(text: str, fmt: str, source: str) -> Any:
    """Parse JSON or YAML text, refusing documents too deep or too large when expanded."""
    what = "JSON" if fmt == "json" else "YAML"
    try:
        document = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise CorruptFileError(
            f"{source}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}."
        ) from None
    except yaml.YAMLError as exc:
        raise CorruptFileError(f"{source}: not valid YAML ({exc}).") from None
    except RecursionError:
        raise CorruptFileError(
            f"{source}: the {what} is nested too deeply to be a manifest "
            "(hundreds of levels of brackets).",
            hint="See docs/formats.md for the layout Doorstep reads.",
        ) from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise CorruptFileError(f"{source}: not valid {what} ({exc}).") from None
    limits.check_document(document, source, what)
    return document


def _depots(document: Any) -> dict[str, tuple[Any, Any]]:
    """Depot id -> raw (lat, lon) from a fleet document's ``depots`` list, if it has one."""
    listed = document.get("depots") if isinstance(document, dict) else None
    if not isinstance(listed, list):
        return {}
    found: dict[str, tuple[Any, Any]] = {}
    for depot in listed:
        if isinstance(depot, dict):
            flat = {normalise(str(k)): value for k, value in _flatten(depot).items()}
            depot_id = str(flat.get("id", flat.get("depot_id", ""))).strip()
            lat = flat.get("lat", flat.get("latitude"))
            lon = flat.get("lon", flat.get("lng", flat.get("longitude")))
            if depot_id:
                found[depot_id] = (lat, lon)
    return found


def _items(document: Any, kind: str, source: str) -> list[Any]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        key = "features" if document.get("type") == "FeatureCollection" else kind
        items = document.get(key, document.get("vehicles" if kind == "fleet" else "orders"))
        if isinstance(items, list):
            return items
    raise NoRecognisedColumnsError(
        f"{source}: expected a list of {kind}, or an object with a '{kind}' list.",
        hint="See docs/formats.md for the JSON schema.",
    )


_NESTED = (
    "location",
    "address",
    "contact",
    "demand",
    "load",
    "capacity",
    "shift",
    "depot",
    "end_depot",
)
_PREFIXES = {"depot": "depot_", "end_depot": "end_depot_"}


def _flatten(item: Mapping[str, Any]) -> dict[str, Any]:
    """Lift one level of nested objects (``location``, ``address``...) to the top."""
    flat: dict[str, Any] = {}
    for key, value in item.items():
        if isinstance(value, dict) and normalise(str(key)) in _NESTED:
            prefix = _PREFIXES.get(normalise(str(key)), "")
            for inner, inner_value in value.items():
                flat.setdefault(f"{prefix}{inner}", inner_value)
        else:
            flat[str(key)] = value
    return flat


def _flatten_feature(feature: Any) -> tuple[dict[str, Any], str | None]:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return {}, "item is not a GeoJSON Feature"
    properties = feature.get("properties") or {}
    flat = _flatten(properties) if isinstance(properties, dict) else {}
    geometry = feature.get("geometry")
    if geometry is None:
        return flat, None
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        return flat, f"geometry is a {kind}; each order needs a Point"
    coordinates = geometry.get("coordinates")
    if isinstance(coordinates, list) and len(coordinates) >= 2:
        flat["lon"], flat["lat"] = coordinates[0], coordinates[1]
        return flat, None
    return flat, "Point geometry has no [lon, lat] coordinates"
