"""Readers for routing benchmark and interchange instances.

:func:`read_instance` loads a file in any of :data:`INSTANCE_FORMATS` into an
:class:`~doorstep.domain.Instance`; each format's module documents its mapping:

==========  =====================================================  ===========================
format      files                                                  module
==========  =====================================================  ===========================
solomon     Solomon and Gehring & Homberger VRPTW text             :mod:`.solomon`
lilim       Li & Lim PDPTW text                                    :mod:`.lilim`
vrplib      VRPLIB / CVRPLIB (``NAME :`` ... ``*_SECTION``)        :mod:`.vrplib_format`
vroom       VROOM JSON problems                                    :mod:`.vroom`
==========  =====================================================  ===========================

Without an explicit format the content decides, and the extension only when the
content is not conclusive:

* a document starting with ``{`` is VROOM JSON;
* a first line ``KEY : value`` (``NAME : X-n101-k25``) is VRPLIB (``#`` comment
  lines, which vrplib skips, are skipped here too);
* a ``VEHICLE`` line among the first lines is Solomon;
* a first line of three numbers (``K Q speed``) is Li & Lim;
* otherwise ``.json`` means VROOM and ``.vrp`` / ``.vrplib`` VRPLIB.
"""

from __future__ import annotations

import re
from pathlib import Path

from doorstep.domain import Instance
from doorstep.errors import UnsupportedFormatError
from doorstep.io.instances._common import InstanceParser, empty_error, read_text
from doorstep.io.instances.lilim import parse_lilim
from doorstep.io.instances.solomon import parse_solomon
from doorstep.io.instances.vroom import parse_vroom
from doorstep.io.instances.vrplib_format import parse_vrplib_text

__all__ = ["INSTANCE_FORMATS", "read_instance"]

INSTANCE_FORMATS = ("solomon", "lilim", "vrplib", "vroom")
"""The instance formats :func:`read_instance` reads."""

_PARSERS: dict[str, InstanceParser] = {
    "solomon": lambda text, source, _name: parse_solomon(text, source),
    "lilim": parse_lilim,
    "vrplib": parse_vrplib_text,
    "vroom": parse_vroom,
}
_EXTENSIONS = {".json": "vroom", ".vrp": "vrplib", ".vrplib": "vrplib"}
_KEYWORD_LINE = re.compile(r"^[A-Za-z_]+\s*:")
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_SOLOMON_SEARCH = 8
"""How many non-blank lines to search for Solomon's ``VEHICLE`` line."""


def read_instance(path: str | Path, format: str | None = None) -> Instance:
    """Read a benchmark or interchange instance file.

    Parameters
    ----------
    path
        The file.
    format
        One of :data:`INSTANCE_FORMATS`; detected from the content (then the
        extension) when ``None``.

    Returns
    -------
    Instance
        Orders, depots and vehicles with the metric that prices travel.

    Raises
    ------
    UnsupportedFormatError
        If ``format`` is not a known format, or none is given and the file is
        recognisably none of them.
    InstanceFormatError
        If the file is empty or does not parse as its format; the message names
        the line (or JSON path).
    InputError
        If the file does not exist or cannot be read.
    """
    path = Path(path)
    if format is not None and format not in INSTANCE_FORMATS:
        raise UnsupportedFormatError(
            f"{format!r} is not an instance format Doorstep reads.",
            hint=f"Use one of {', '.join(INSTANCE_FORMATS)}.",
        )
    text = read_text(path)
    chosen = format or _detect(text, path)
    return _PARSERS[chosen](text, str(path), path.stem)


def _detect(text: str, path: Path) -> str:
    """Name the format of ``text`` from its content, else from the extension of ``path``."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    lines = [tokens for tokens in lines if not tokens[0].startswith("#")] or lines
    if not lines:
        raise empty_error(str(path), f"an instance in one of {', '.join(INSTANCE_FORMATS)}")
    first = " ".join(lines[0])
    if first.startswith("{"):
        return "vroom"
    if _KEYWORD_LINE.match(first):
        return "vrplib"
    if any(tokens[0].upper() == "VEHICLE" for tokens in lines[:_SOLOMON_SEARCH]):
        return "solomon"
    if len(lines[0]) == 3 and all(_NUMBER.match(token) for token in lines[0]):
        return "lilim"
    by_extension = _EXTENSIONS.get(path.suffix.lower())
    if by_extension is not None:
        return by_extension
    raise UnsupportedFormatError(
        f"{path}: not recognisably an instance in any of {', '.join(INSTANCE_FORMATS)}.",
        hint="Pass the format explicitly if you know it.",
    )
