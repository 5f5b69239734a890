"""Parse single cell values as they come from CSV text, spreadsheets or JSON."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from doorstep.units import parse_clock

_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+\s*$")
_SKILL_SPLIT = re.compile(r"[,;|/\s]+")
_RANGE_SPLIT = re.compile(r"\s*(?:–|—|\bto\b|/)\s*")


def text(value: Any) -> str:
    """The value as stripped text; ``None`` and empty cells give ``""``."""
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def is_blank(value: Any) -> bool:
    """Whether a cell holds nothing."""
    if type(value) is str:
        return not value or value.isspace()
    return value is None or (isinstance(value, str) and not value.strip())


def number(value: Any) -> float:
    """Parse a finite number; a decimal comma (``"60,17"``) is accepted.

    Raises
    ------
    ValueError
        If the value is not a finite number.
    """
    if type(value) is str:
        if "_" in value:  # float() would accept "1_000"; a manifest should not
            raise ValueError(f"not a number: {value!r}")
        try:
            result = float(value)
        except ValueError:
            if not _DECIMAL_COMMA.match(value):
                raise
            result = float(value.replace(",", "."))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        result = float(value)
    else:
        raise ValueError(f"not a number: {value!r}")
    if not math.isfinite(result):
        raise ValueError(f"not a finite number: {value!r}")
    return result


def whole(value: Any) -> int:
    """Parse a whole number (``"3"``, ``3.0``).

    Raises
    ------
    ValueError
        If the value is not a number or has a fractional part.
    """
    if type(value) is str and "_" not in value:
        try:
            return int(value)
        except ValueError:
            pass
    result = number(value)
    if not result.is_integer():
        raise ValueError(f"not a whole number: {value!r}")
    return int(result)


def scaled(factor: int) -> Callable[[Any], int]:
    """A parser of a number in a display unit into whole internal units (kg -> g: 1000).

    The parser raises ValueError for a value too large to represent once scaled.
    """

    def parse(value: Any) -> int:
        result = number(value) * factor
        if not math.isfinite(result):
            raise ValueError(f"too large: {value!r}")
        return round(result)

    return parse


def skills(value: Any) -> frozenset[str]:
    """Parse skills from ``"cold, id_check"`` or a JSON list, lower-cased."""
    if is_blank(value):
        return frozenset()
    items = value if isinstance(value, list | tuple) else _SKILL_SPLIT.split(text(value))
    return frozenset(text(item).lower() for item in items if text(item))


_CLOCKS: dict[str, int] = {}
"""Parsed plain times (``"08:00"``): a manifest repeats a handful of them many times."""


def clock(value: Any, day: date | None = None) -> int:
    """Parse a time of day to seconds after midnight (see :func:`doorstep.units.parse_clock`)."""
    if isinstance(value, str) and len(value) <= 8:  # HH:MM[:SS] or minutes: no date in it
        cached = _CLOCKS.get(value)
        if cached is None:
            cached = parse_clock(value.strip(), day)
            if len(_CLOCKS) < 10_000:
                _CLOCKS[value] = cached
        return cached
    return parse_clock(value.strip() if isinstance(value, str) else value, day)


def day_of(value: Any) -> date | None:
    """The calendar date a value carries, if it is a date-time."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str) and len(value.strip()) >= 10 and value.strip()[4] == "-":
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).date()
        except ValueError:
            return None
    return None


def window(start: Any, end: Any) -> tuple[int, int]:
    """Parse a window's two ends; an empty start is midnight, an empty end is 24:00.

    A date-time end on a later day than a date-time start counts from the
    start's day, so an overnight window ends after 24:00.

    Raises
    ------
    ValueError
        If either end is not a time.
    """
    day = day_of(start)
    first = 0 if is_blank(start) else clock(start, day)
    last = 86_400 if is_blank(end) else clock(end, day)
    return first, last


def window_list(value: Any) -> list[tuple[int, int]]:
    """Parse several windows: ``"08:00-10:00; 14:00-16:00"`` or a JSON list.

    JSON items may be ``["08:00", "10:00"]`` or ``{"start": ..., "end": ...}``.

    Raises
    ------
    ValueError
        If an item is not a window.
    """
    if is_blank(value):
        return []
    if isinstance(value, list):
        return [_window_item(item) for item in value]
    return [_window_text(part) for part in re.split(r"[;,]", text(value)) if part.strip()]


def _window_item(item: Any) -> tuple[int, int]:
    if isinstance(item, dict):
        return window(item.get("start"), item.get("end"))
    if isinstance(item, list | tuple) and len(item) == 2:
        return window(item[0], item[1])
    if isinstance(item, str):
        return _window_text(item)
    raise ValueError(f"not a time window: {item!r}")


def _window_text(part: str) -> tuple[int, int]:
    pieces = _RANGE_SPLIT.split(part.strip())
    if len(pieces) == 2:
        return window(pieces[0], pieces[1])
    for index, char in enumerate(part):
        if char == "-" and 0 < index < len(part) - 1:
            try:
                return window(part[:index], part[index + 1 :])
            except ValueError:
                continue
    raise ValueError(f"not a time window: {part!r}")
