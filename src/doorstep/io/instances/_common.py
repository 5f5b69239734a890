"""Helpers shared by the instance readers: reading text, numbers with their line, errors.

Every reader reports a problem as :class:`~doorstep.errors.InstanceFormatError`
whose message starts with ``"<file>, <where>: "`` where ``<where>`` is ``line N``
for text formats and a JSON path such as ``$.jobs[3].service`` for JSON.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, TypeVar

from doorstep.domain import UNLIMITED, Depot, Instance, Load, Location, TimeWindow, Vehicle
from doorstep.errors import DomainError, InputError, InstanceFormatError

Line = tuple[int, list[str]]
"""A non-blank line: its 1-based number in the file and its whitespace-separated tokens."""

UNBOUNDED_SHIFT = TimeWindow(0, UNLIMITED)
"""The shift of a vehicle whose file gives no time limits."""

MAX_VEHICLES = 100_000
"""The most vehicles a file may ask for; more is a damaged count, not a fleet."""

_Key = TypeVar("_Key", bound=Hashable)
_Where = TypeVar("_Where")


class InstanceParser(Protocol):
    """What a format's ``parse_*`` function is: the text of one file in, an instance out."""

    def __call__(self, text: str, source: str, name: str, /) -> Instance:
        """Parse the text of an instance (the format's module documents the mapping).

        Parameters
        ----------
        text
            The whole file.
        source
            How to name the file in error messages.
        name
            The instance name, unless the file gives one (VRPLIB's ``NAME``).

        Returns
        -------
        Instance
            The instance.

        Raises
        ------
        InstanceFormatError
            If the text is not an instance of the format Doorstep can read; the
            message names the line (or the JSON path).
        """
        ...


def read_text(path: str | Path) -> str:
    """Read an instance file as UTF-8 text (a byte-order mark is dropped).

    Raises
    ------
    InputError
        If the file does not exist or cannot be read.
    InstanceFormatError
        If the file is not UTF-8 text.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"{path}: no such file.", hint="Check the path (and that it is a file, not a folder)."
        )
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InstanceFormatError(
            f"{path}, byte {exc.start}: not UTF-8 text.",
            hint="Benchmark instances are plain ASCII text; is this the right file?",
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}).") from None


def read_with(parse: InstanceParser, path: str | Path) -> Instance:
    """Read the file at ``path`` and parse it, naming it by its path and its stem.

    Raises
    ------
    InputError
        If the file does not exist or cannot be read.
    InstanceFormatError
        If the file is not UTF-8 text or does not parse.
    """
    path = Path(path)
    return parse(read_text(path), str(path), path.stem)


def format_error(source: str, where: str, what: str, hint: str) -> InstanceFormatError:
    """Build the error for a problem at ``where`` (``line 12``, ``$.jobs[0]``) in ``source``."""
    return InstanceFormatError(f"{source}, {where}: {what}", hint=hint)


def empty_error(source: str, expected: str) -> InstanceFormatError:
    """Build the error for a file with nothing but blank lines."""
    return format_error(source, "line 1", "the file is empty.", f"Expected {expected}.")


def data_lines(text: str) -> list[Line]:
    """Split ``text`` into its non-blank lines, each with its 1-based line number."""
    lines = (line.split() for line in text.splitlines())
    return [(number, tokens) for number, tokens in enumerate(lines, start=1) if tokens]


def last_line_number(text: str) -> int:
    """Return the number of the line after the last one (where a truncated file "ends")."""
    return len(text.splitlines()) + 1


def parse_float(token: str, source: str, line: int, column: str) -> float:
    """Parse a finite number from one token of a text file.

    Raises
    ------
    InstanceFormatError
        If the token is not a finite number.
    """
    try:
        value = float(token)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise format_error(
            source,
            f"line {line}",
            f"{column} is {token!r}, not a number.",
            "Every column of the table holds a number; fix or remove the line.",
        )
    return value


def parse_int(token: str, source: str, line: int, column: str) -> int:
    """Parse a whole number (``12`` or ``12.0``) from one token of a text file.

    Raises
    ------
    InstanceFormatError
        If the token is not a whole number.
    """
    value = parse_float(token, source, line, column)
    if not value.is_integer():
        raise format_error(
            source,
            f"line {line}",
            f"{column} is {token}, not a whole number.",
            "Ids, counts, demands and capacities must be whole numbers.",
        )
    return int(value)


def first_repeat(
    items: Iterable[tuple[_Key, _Where]],
) -> tuple[_Key, _Where, _Where] | None:
    """Find the first key given twice among ``(key, where)`` items.

    Returns
    -------
    tuple or None
        ``(key, where it came first, where it came again)``, or ``None`` if
        every key is distinct.
    """
    seen: dict[_Key, _Where] = {}
    for key, where in items:
        if key in seen:
            return key, seen[key], where
        seen[key] = where
    return None


def refuse_repeated_ids(
    items: Iterable[tuple[int, int]], source: str, label: str, hint: str
) -> None:
    """Refuse an id that two rows of a text file give.

    Parameters
    ----------
    items
        ``(id, line number)`` per row, in file order.
    source
        How to name the file in error messages.
    label
        What the id names, for the message (``task``, ``customer``).
    hint
        How to fix it.

    Raises
    ------
    InstanceFormatError
        At the second row with an id: ``<label> <id> already appears on line <first>``.
    """
    repeat = first_repeat(items)
    if repeat is not None:
        key, first, again = repeat
        raise format_error(
            source, f"line {again}", f"{label} {key} already appears on line {first}.", hint
        )


def round_half_up(value: float) -> int:
    """Round to the nearest whole number, halves upwards (so 2.5 gives 3, -2.5 gives -2)."""
    return math.floor(value + 0.5)


def check_vehicle_count(count: int, source: str, where: str) -> int:
    """Return ``count`` if it is a plausible number of vehicles (1 .. MAX_VEHICLES).

    Raises
    ------
    InstanceFormatError
        If the count is below 1 or above :data:`MAX_VEHICLES`.
    """
    if not 1 <= count <= MAX_VEHICLES:
        raise format_error(
            source,
            where,
            f"the number of vehicles is {count}.",
            f"Give between 1 and {MAX_VEHICLES:,} vehicles.",
        )
    return count


@contextmanager
def domain_errors(source: str, where: str) -> Iterator[None]:
    """Turn a :class:`DomainError` raised while building objects into an instance error."""
    try:
        yield
    except DomainError as exc:
        raise format_error(source, where, f"{exc.message}.", "Fix the value in the file.") from None


def planar_location(x: float, y: float) -> Location:
    """Make a planar point: ``x`` goes in ``lon`` and ``y`` in ``lat`` (Metric.EUCLIDEAN)."""
    return Location(lat=y, lon=x)


def homogeneous_fleet(
    count: int, capacity: int, depot: Depot, shift: TimeWindow
) -> tuple[Vehicle, ...]:
    """``count`` identical vehicles ``v0``, ``v1`` ... at ``depot``, limited in parcels only."""
    load = Load(parcels=capacity, weight_g=UNLIMITED, volume_ml=UNLIMITED)
    return tuple(
        Vehicle(id=f"v{i}", depot_id=depot.id, capacity=load, shift=shift) for i in range(count)
    )
