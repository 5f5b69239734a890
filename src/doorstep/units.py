"""Integer internal units and the conversions at the edges.

Doorstep computes in integers so that sums never drift and comparisons are exact:

==========  ==============  ====================================================
quantity    internal unit   why
==========  ==============  ====================================================
time        second          travel-time matrices and ETAs are second-resolved
distance    metre           road networks store edge lengths in metres
weight      gram            the lightest parcels weigh a few grams
volume      millilitre      a litre with three decimals, as carriers quote it
money       cent            invoices are in cents
==========  ==============  ====================================================

Times of day are seconds after midnight of the planning day; a time on the next
day is simply larger than 86,400.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta

import numpy as np
import numpy.typing as npt

SECONDS_PER_MINUTE = 60
SECONDS_PER_HOUR = 3_600
SECONDS_PER_DAY = 86_400
METRES_PER_KM = 1_000
GRAMS_PER_KG = 1_000
MILLILITRES_PER_LITRE = 1_000
CENTS_PER_UNIT = 100

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), in metres."""

__all__ = [
    "CENTS_PER_UNIT",
    "EARTH_RADIUS_M",
    "GRAMS_PER_KG",
    "METRES_PER_KM",
    "MILLILITRES_PER_LITRE",
    "SECONDS_PER_DAY",
    "SECONDS_PER_HOUR",
    "SECONDS_PER_MINUTE",
    "format_clock",
    "haversine_array_m",
    "haversine_m",
    "kg_to_g",
    "litres_to_ml",
    "minutes_to_s",
    "money_to_cents",
    "parse_clock",
]


def _round_half_up(value: float) -> int:
    if not math.isfinite(value):
        raise ValueError(f"not a finite quantity: {value!r}")
    return math.floor(value + 0.5)


def minutes_to_s(minutes: float) -> int:
    """Convert minutes to whole seconds (rounded half up)."""
    return _round_half_up(minutes * SECONDS_PER_MINUTE)


def kg_to_g(kilograms: float) -> int:
    """Convert kilograms to whole grams (rounded half up)."""
    return _round_half_up(kilograms * GRAMS_PER_KG)


def litres_to_ml(litres: float) -> int:
    """Convert litres to whole millilitres (rounded half up)."""
    return _round_half_up(litres * MILLILITRES_PER_LITRE)


def money_to_cents(amount: float) -> int:
    """Convert an amount of money in major units (euros, dollars) to whole cents."""
    return _round_half_up(amount * CENTS_PER_UNIT)


_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*$")
_NUMBER = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")


def parse_clock(value: object, day: date | None = None) -> int:
    """Parse a time of day into seconds after midnight.

    Parameters
    ----------
    value
        ``"HH:MM"`` or ``"HH:MM:SS"`` (hours may exceed 23 for the next day),
        an ISO 8601 time or date-time (``"09:30"``, ``"2026-11-23T09:30:00+02:00"``),
        a number of minutes after midnight (``570`` or ``"570"``), or a
        :class:`datetime.time` / :class:`datetime.datetime` as spreadsheets give.
    day
        The planning day. A date-time on a later day counts from this day's
        midnight (so 01:00 the next day is 90,000 s). Without it, the date of a
        date-time is ignored.

    Returns
    -------
    int
        Seconds after midnight.

    Raises
    ------
    ValueError
        If the value is none of the accepted forms, or is negative.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, datetime):
        return _datetime_to_s(value, day)
    if isinstance(value, time):
        return value.hour * SECONDS_PER_HOUR + value.minute * SECONDS_PER_MINUTE + value.second
    if isinstance(value, timedelta):
        return _non_negative(round(value.total_seconds()), value)
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"not a time: {value!r}")
        return _non_negative(minutes_to_s(value), value)
    if not isinstance(value, str):
        raise ValueError(f"not a time: {value!r}")
    text = value.strip()
    match = _HHMM.match(text)
    if match:
        hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
        if minutes > 59 or seconds > 59:
            raise ValueError(f"not a time: {value!r}")
        return hours * SECONDS_PER_HOUR + minutes * SECONDS_PER_MINUTE + seconds
    if _NUMBER.match(text):
        return minutes_to_s(float(text))
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            return parse_clock(time.fromisoformat(text), day)
        except ValueError:
            raise ValueError(f"not a time: {value!r}") from None
    return _datetime_to_s(parsed, day)


def _datetime_to_s(moment: datetime, day: date | None) -> int:
    offset_days = 0 if day is None else (moment.date() - day).days
    seconds = offset_days * SECONDS_PER_DAY + parse_clock(moment.timetz().replace(tzinfo=None))
    return _non_negative(seconds, moment)


def _non_negative(seconds: int, original: object) -> int:
    if seconds < 0:
        raise ValueError(f"a time of day cannot be negative: {original!r}")
    return seconds


def format_clock(seconds: int) -> str:
    """Format seconds after midnight as ``HH:MM`` (``+1d`` marks the next day)."""
    days, rest = divmod(seconds, SECONDS_PER_DAY)
    hours, rest = divmod(rest, SECONDS_PER_HOUR)
    text = f"{hours:02d}:{rest // SECONDS_PER_MINUTE:02d}"
    return text if days == 0 else f"{text}+{days}d"


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS84 points (haversine formula)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlam = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def haversine_array_m(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Great-circle distances in metres between WGS84 points, element by element.

    The vectorised :func:`haversine_m`: the arguments are arrays (or numbers) of
    degrees that NumPy broadcasts against each other, so one point against
    many, segment ends pairwise, or ``lat[:, None]`` against ``lat[None, :]``
    for a whole matrix.

    Parameters
    ----------
    lat1, lon1
        The first points.
    lat2, lon2
        The second points.

    Returns
    -------
    numpy.ndarray
        The distances, in the broadcast shape of the arguments.
    """
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dlam = np.radians(np.subtract(lon2, lon1))
    a = np.sin((phi2 - phi1) / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2) ** 2
    distances: npt.NDArray[np.float64] = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    return distances
