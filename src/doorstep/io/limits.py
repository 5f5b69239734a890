"""How much a manifest or fleet file may hold, and the checks that keep every reader bounded.

Every reader keeps to these caps (see ``docs/formats.md``):

* at most :data:`MAX_DATA_ROWS` data rows (JSON/YAML: items) and a header of at
  most :data:`MAX_COLUMNS` columns;
* a workbook (``.xlsx``, ``.xlsm``, ``.xlsb``, ``.ods``: a ZIP archive) may unpack
  to at most :data:`MAX_UNPACKED_BYTES`, and no part of it may unpack to more
  than :data:`MAX_INFLATE_RATIO` times its packed size (a decompression bomb);
* the cells of an ``.xlsx``/``.xlsm``/``.ods`` sheet must lie within
  :data:`MAX_SHEET_ROWS` rows, :data:`MAX_COLUMNS` columns and
  :data:`MAX_SHEET_CELLS` cells from ``A1``. The spreadsheet reader (calamine)
  holds a sheet as one dense grid of 32 bytes a cell from ``A1`` to the last
  cell, so a 2 KB file with cells in ``A1`` and ``XFD1048576`` would ask for
  512 GiB; :func:`check_workbook` finds the last cell first, streaming the XML;
* a JSON or YAML document may nest at most :data:`MAX_NESTING` levels deep, and
  a YAML document may expand (anchors and aliases counted every time they are
  used) to at most :data:`MAX_YAML_NODES` values.

A file beyond a cap raises :class:`~doorstep.errors.TooLargeError` naming the cap
and what to do.
"""

from __future__ import annotations

import io
import re
import xml.parsers.expat
import zipfile
from collections.abc import Callable, Iterator
from operator import itemgetter
from typing import IO, Any

from doorstep.errors import CorruptFileError, TooLargeError

MAX_DATA_ROWS = 1_000_000
"""Data rows (or JSON/YAML items) a file may hold."""
MAX_COLUMNS = 200
"""Columns a header (or a sheet's cells) may span."""
MAX_SHEET_ROWS = MAX_DATA_ROWS + 1_000
"""Rows a sheet's cells may span from row 1: the data rows, a header and some blank rows."""
MAX_SHEET_CELLS = 25_000_000
"""Rows x columns a sheet's cells may span from ``A1`` (800 MB in the reader's grid)."""
MAX_UNPACKED_BYTES = 2 * 1024**3
"""Bytes a workbook's parts may unpack to, together."""
MAX_INFLATE_RATIO = 100
"""Unpacked / packed size a workbook part above 1 MiB may have (Apache POI's rule)."""
MAX_YAML_NODES = 1_000_000
"""Values a YAML document may expand to, counting an alias each time it is used."""
MAX_NESTING = 64
"""Levels of nested lists and objects a JSON or YAML document may have."""

_RATIO_MIN_BYTES = 1024**2
_CHUNK = 4 * 1024**2
_MAX_TAG = 16 * 1024**2
_CELL_REF = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"')
_ANY_CELL = re.compile(rb"<c[\s/>]|:c[\s/>]")


def column_name(index: int) -> str:
    """The spreadsheet name of a 1-based column: ``1`` -> ``A``, ``16384`` -> ``XFD``."""
    name = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def _column_index(letters: bytes | str) -> int:
    index = 0
    for char in letters.upper() if isinstance(letters, str) else letters.decode().upper():
        index = index * 26 + ord(char) - ord("A") + 1
    return index


def too_many_rows(source: str, count: int | str) -> TooLargeError:
    """The error for a file with more than :data:`MAX_DATA_ROWS` data rows.

    Parameters
    ----------
    source
        The file, for the message.
    count
        How many rows it has, or a phrase (``"more than 1,000,000"``).
    """
    shown = f"{count:,}" if isinstance(count, int) else count
    return TooLargeError(
        f"{source} has {shown} data rows; Doorstep reads at most {MAX_DATA_ROWS:,} a file.",
        hint="Split the manifest into several files (by day or by depot).",
    )


def too_many_columns(source: str, count: int) -> TooLargeError:
    """The error for a header wider than :data:`MAX_COLUMNS` columns."""
    return TooLargeError(
        f"{source}: the header spans {count:,} columns; Doorstep reads at most {MAX_COLUMNS}.",
        hint="Delete the unused columns (see docs/formats.md for the ones Doorstep reads).",
    )


def check_workbook(data: bytes, source: str) -> None:
    """Check that a workbook can be read in bounded memory, before the reader sees it.

    A ZIP-based workbook (``.xlsx``, ``.xlsm``, ``.xlsb``, ``.ods``) must keep to
    :data:`MAX_UNPACKED_BYTES` and :data:`MAX_INFLATE_RATIO`; the cells of each
    sheet of an ``.xlsx``/``.xlsm``/``.ods`` must lie within :data:`MAX_SHEET_ROWS`,
    :data:`MAX_COLUMNS` and :data:`MAX_SHEET_CELLS` from ``A1``. Other files
    (``.xls``) are left to the reader: their format caps a sheet at 65,536 x 256.

    Parameters
    ----------
    data
        The file's bytes.
    source
        The file, for messages.

    Raises
    ------
    TooLargeError
        A cap is exceeded; the message names it and the offending part or cell.
    CorruptFileError
        The archive is damaged.
    """
    if not data.startswith(b"PK"):
        return
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise CorruptFileError(
            f"{source} cannot be read as a workbook; is it truncated or damaged? ({exc})",
            hint="Open it in a spreadsheet program and save it again.",
        ) from None
    _check_sizes(parts, source)
    try:
        for part in parts:
            name = part.filename
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with archive.open(part) as stream:
                    _check_extent(_sheet_extent(stream, source), source, name)
            elif name == "content.xml":
                with archive.open(part) as stream:
                    _check_extent(_ods_extent(stream), source, name)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise CorruptFileError(
            f"{source} cannot be read as a workbook; is it truncated or damaged? ({exc})",
            hint="Open it in a spreadsheet program and save it again.",
        ) from None


def _check_sizes(parts: list[zipfile.ZipInfo], source: str) -> None:
    total = sum(part.file_size for part in parts)
    if total > MAX_UNPACKED_BYTES:
        raise TooLargeError(
            f"{source} unpacks to {total / 1024**3:,.1f} GiB; Doorstep reads workbooks that "
            f"unpack to at most {MAX_UNPACKED_BYTES / 1024**3:,.0f} GiB.",
            hint="Split the manifest, or export it as CSV.",
        )
    for part in parts:
        packed = max(part.compress_size, 1)
        if part.file_size > _RATIO_MIN_BYTES and part.file_size > MAX_INFLATE_RATIO * packed:
            raise TooLargeError(
                f"{source}: part {part.filename} unpacks {part.file_size // packed:,} times "
                f"larger than it is packed (at most {MAX_INFLATE_RATIO} is accepted); the file "
                "looks like a decompression bomb, not a spreadsheet.",
                hint="Open it in a spreadsheet program and save it again, or export it as CSV.",
            )


def _check_extent(extent: tuple[int, int], source: str, part: str) -> None:
    rows, columns = extent
    if rows <= MAX_SHEET_ROWS and columns <= MAX_COLUMNS and rows * columns <= MAX_SHEET_CELLS:
        return
    last = f"{column_name(columns)}{rows}"
    raise TooLargeError(
        f"{source}: a sheet ({part}) has cells as far as {last}, {rows:,} rows x {columns:,} "
        f"columns from A1; Doorstep reads sheets of at most {MAX_SHEET_ROWS:,} rows, "
        f"{MAX_COLUMNS} columns and {MAX_SHEET_CELLS:,} cells.",
        hint=f"Delete the stray cells around {last} (they may hold only formatting), "
        "or export the manifest as CSV.",
    )


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    """The stream in pieces that each end before a tag's ``<``, so no tag is cut in two."""
    carry = b""
    while piece := stream.read(_CHUNK):
        piece = carry + piece
        cut = piece.rfind(b"<")
        if cut <= 0:
            if len(piece) > _MAX_TAG:
                raise ValueError("an XML tag longer than 16 MiB")
            carry = piece
            continue
        carry = piece[cut:]
        yield piece[:cut]
    if carry:
        yield carry


def _sheet_extent(stream: IO[bytes], source: str) -> tuple[int, int]:
    """The last row and column an ``.xlsx`` sheet's cells reach.

    Fast path: every cell starts ``<c r="B7"`` (Excel, LibreOffice, openpyxl...),
    and one regular expression reads the references. Otherwise (cells without a
    reference, a prefixed namespace) the XML is walked cell by cell. A cell
    counts even if it holds only formatting (the fast path cannot tell).
    """
    rows = columns = 0
    chunks = _chunks(stream)
    for chunk in chunks:
        refs = _CELL_REF.findall(chunk)
        if len(refs) != len(_ANY_CELL.findall(chunk)):
            return _walk_sheet(chunk, chunks, rows, columns)
        if refs:
            letters = max(set(map(itemgetter(0), refs)), key=lambda b: (len(b), b))
            columns = max(columns, _column_index(letters))
            rows = max(rows, *map(int, set(map(itemgetter(1), refs))))
    return rows, columns


_REF = re.compile(r"([A-Za-z]{1,3})([0-9]{1,7})$")


def _walk_sheet(
    first: bytes, rest: Iterator[bytes], rows: int = 0, columns: int = 0
) -> tuple[int, int]:
    """The last row and column a sheet's valued cells reach, the way calamine places them.

    A ``<row>`` without ``r`` follows the previous row; a ``<c>`` without ``r``
    follows the previous cell. A cell counts once it has a value, inline string
    or formula.
    """
    state = {"row": 0, "col": 0, "rows": rows, "cols": columns, "cell": 0}

    def start(tag: str, attributes: dict[str, str]) -> None:
        name = tag.rpartition(":")[2]
        if name == "row":
            given = attributes.get("r", "")
            state["row"] = int(given) if given.isdigit() else state["row"] + 1
            state["col"] = 0
        elif name == "c":
            match = _REF.match(attributes.get("r", ""))
            if match:
                state["col"] = _column_index(match.group(1))
                state["row"] = int(match.group(2))
            else:
                state["col"] += 1
            state["cell"] = 1
        elif name in ("v", "is", "f") and state["cell"]:
            state["rows"] = max(state["rows"], state["row"])
            state["cols"] = max(state["cols"], state["col"])
            state["cell"] = 0

    def end(tag: str) -> None:
        if tag.rpartition(":")[2] == "c":
            state["cell"] = 0

    _parse(first, rest, start, end)
    return state["rows"], state["cols"]


def _ods_extent(stream: IO[bytes]) -> tuple[int, int]:
    """The last row and column an OpenDocument sheet's valued cells reach, repeats expanded."""
    state = {"row": 0, "col": 0, "rows": 0, "cols": 0, "repeat_rows": 1}

    def start(tag: str, attributes: dict[str, str]) -> None:
        if tag == "table:table":
            state["row"] = 0
        elif tag == "table:table-row":
            state["repeat_rows"] = _repeat(attributes.get("table:number-rows-repeated"))
            state["col"] = 0
        elif tag in ("table:table-cell", "table:covered-table-cell"):
            state["col"] += _repeat(attributes.get("table:number-columns-repeated"))
            if "office:value-type" in attributes or "office:value" in attributes:
                state["cols"] = max(state["cols"], state["col"])
                state["rows"] = max(state["rows"], state["row"] + state["repeat_rows"])

    def end(tag: str) -> None:
        if tag == "table:table-row":
            state["row"] += state["repeat_rows"]

    _parse(b"", _chunks(stream), start, end)
    return state["rows"], state["cols"]


def _repeat(value: str | None) -> int:
    return int(value) if value is not None and value.isdigit() else 1


def _parse(
    first: bytes,
    rest: Iterator[bytes],
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None],
) -> None:
    parser = xml.parsers.expat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(first, False)
        for chunk in rest:
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except xml.parsers.expat.ExpatError as exc:
        raise ValueError(f"damaged XML: {exc}") from None


def check_document(document: Any, source: str, what: str) -> None:
    """Refuse a parsed JSON/YAML document nested too deeply or, for YAML, too large when expanded.

    Parameters
    ----------
    document
        What ``json.loads`` or ``yaml.safe_load`` gave.
    source
        The file, for messages.
    what
        ``"JSON"`` or ``"YAML"``: only YAML has aliases, so only YAML's expansion is counted.

    Raises
    ------
    CorruptFileError
        Nested deeper than :data:`MAX_NESTING` levels.
    TooLargeError
        A YAML document that expands to more than :data:`MAX_YAML_NODES` values.
    """
    limit = MAX_YAML_NODES if what == "YAML" else None
    size, too_deep = _measure(document, limit)
    if too_deep:
        raise CorruptFileError(
            f"{source}: the {what} is nested more than {MAX_NESTING} levels deep; "
            "a manifest needs a few.",
            hint="See docs/formats.md for the layout Doorstep reads.",
        )
    if limit is not None and size > limit:
        raise TooLargeError(
            f"{source}: the {what} expands to more than {limit:,} values "
            "(aliases repeating anchors: a 'billion laughs' document).",
            hint="Write the file without nested aliases.",
        )


def _measure(document: Any, limit: int | None) -> tuple[int, bool]:
    """The values ``document`` holds (aliases counted each use), and whether it nests too deep.

    Each distinct object is visited once (YAML anchors and aliases share one), so
    the count is cheap however large the expansion; it stops above ``limit``.
    """
    sizes: dict[int, int] = {}
    stop = limit if limit is not None else float("inf")
    too_deep = False

    def size(node: dict[Any, Any] | list[Any], depth: int) -> int:
        nonlocal too_deep
        known = sizes.get(id(node))
        if known is not None:
            return known
        if depth > MAX_NESTING:
            too_deep = True
            return 1
        values = node.values() if isinstance(node, dict) else node
        total = 1 + (len(node) if isinstance(node, dict) else 0)
        for value in values:
            total += size(value, depth + 1) if isinstance(value, dict | list) else 1
            if total > stop or too_deep:
                break
        sizes[id(node)] = total
        return total

    if not isinstance(document, dict | list):
        return 1, False
    return size(document, 1), too_deep
