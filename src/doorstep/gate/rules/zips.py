"""Rule: a stop's zip code should agree with where the stop is.

No external zip data is used: the other stops of the day are the reference.
A stop is inconsistent with its zip code when both hold:

1. it is isolated from its own zip: the nearest other stop with the same zip
   is farther than ``zip_factor`` times that zip's usual spacing (a robust upper
   bound of the nearest-same-zip distances within the zip: median + 3 robust
   standard deviations), and farther than ``zip_min_m``;
2. it sits among another zip: its nearest neighbour has a different zip code.

Spacing, not distance from a centre, is what adapts to real zip areas, which
are elongated and of very different sizes. Two wrongly coded stops at the same
building vouch for each other and are not caught; a single wrong one is.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator

import numpy as np

from doorstep.domain.finding import Finding, Severity
from doorstep.gate.context import RuleContext
from doorstep.gate.normalise import normalise_zip
from doorstep.gate.robust import FloatArray, robust_radius
from doorstep.io.orders import OrderRecord
from doorstep.units import EARTH_RADIUS_M


def to_xyz(lat: FloatArray, lon: FloatArray) -> FloatArray:
    """Points on a sphere of Earth's radius: straight-line distances in metres.

    For stops a few kilometres apart the chord equals the great-circle distance
    to well under a metre.
    """
    phi, lam = np.radians(lat), np.radians(lon)
    xyz: FloatArray = EARTH_RADIUS_M * np.column_stack(
        (np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi))
    )
    return xyz


def check_zip_matches_location(ctx: RuleContext) -> Iterator[Finding]:
    """Flag a stop whose zip code disagrees with its neighbours (``zip_mismatch``, warning).

    A warning: the stop can be planned, but either the zip code or the
    coordinates are wrong, and the driver may go to the wrong place.
    """
    from scipy.spatial import cKDTree  # imported here: 0.4 s that small runs should not pay

    settings = ctx.settings
    stops = [r for r in ctx.records if r.zip and ctx.located(r)]
    if len(stops) < settings.zip_min_group:
        return
    codes = [normalise_zip(r.zip) for r in stops]
    points = to_xyz(
        np.array([r.lat for r in stops], dtype=np.float64),
        np.array([r.lon for r in stops], dtype=np.float64),
    )
    _, nearest = cKDTree(points).query(points, k=2)
    groups: dict[str, list[int]] = defaultdict(list)
    for index, code in enumerate(codes):
        groups[code].append(index)
    for code, members in groups.items():
        if len(members) < settings.zip_min_group:
            continue
        own = points[members]
        gaps, _ = cKDTree(own).query(own, k=2)
        spacing = gaps[:, 1]
        limit = max(settings.zip_min_m, settings.zip_factor * robust_radius(spacing, 3.0))
        for position in np.flatnonzero(spacing > limit):
            index = members[position]
            neighbour = int(nearest[index, 1])
            if codes[neighbour] != code:
                yield _finding(stops[index], float(spacing[position]), stops[neighbour])


_DECIMAL = re.compile(r"(\d+)[.,]0+")
_SCIENTIFIC = re.compile(r"\d+(?:[.,]\d+)?[eE][+-]?\d+")
_USUAL_SHARE = 0.8


def check_zip_numbers(ctx: RuleContext) -> Iterator[Finding]:
    """Flag a zip code a spreadsheet turned into a number (``zip_number_mangled``, error).

    Three marks of it: a trailing ``.0`` (``120.0``), scientific notation
    (``1.2E+04``), and, when at least ``zip_min_group`` zip codes of the file are
    digits and 80% of them have one length, a shorter all-digit zip (``120``
    where the others have 5 digits: leading zeros dropped). The message names the
    likely original (``00120``). An error: the code on the parcel would be wrong.
    """
    usual = _usual_length([r.zip for r in ctx.records], ctx.settings.zip_min_group)
    for record in ctx.records:
        code = record.zip
        if not code:
            continue
        decimal = _DECIMAL.fullmatch(code)
        if decimal is not None:
            original = _padded(decimal.group(1), usual)
            yield _mangled(
                record,
                f"zip {code} looks like {original} turned into a number by a spreadsheet; "
                f"format the zip column as text and write {original}.",
            )
        elif _SCIENTIFIC.fullmatch(code):
            yield _mangled(
                record,
                f"zip {code} is a number in scientific notation: a spreadsheet turned the zip "
                "code into a number and its digits are lost; format the zip column as text "
                "and enter the zip again.",
            )
        elif usual is not None and code.isdigit() and len(code) < usual:
            original = _padded(code, usual)
            yield _mangled(
                record,
                f"zip {code} has {len(code)} digits where this file's zip codes have {usual}: "
                f"it looks like {original} with its leading zeros dropped by a spreadsheet; "
                f"format the zip column as text and write {original}.",
            )


def _usual_length(codes: list[str], min_group: int) -> int | None:
    """The length most all-digit zip codes share, if enough do."""
    lengths = Counter(len(code) for code in codes if code.isdigit())
    total = sum(lengths.values())
    if total < min_group:
        return None
    length, count = lengths.most_common(1)[0]
    return length if count >= _USUAL_SHARE * total else None


def _padded(digits: str, usual: int | None) -> str:
    return digits.zfill(usual) if usual is not None else digits


def _mangled(record: OrderRecord, message: str) -> Finding:
    return Finding("zip_number_mangled", Severity.ERROR, message, record.row, "zip")


def _finding(record: OrderRecord, gap_m: float, neighbour: OrderRecord) -> Finding:
    return Finding(
        "zip_mismatch",
        Severity.WARNING,
        f"zip {record.zip} does not match the location: the nearest other stop with zip "
        f"{record.zip} is {gap_m / 1000:,.1f} km away, while the nearest stop (row "
        f"{neighbour.row}) has zip {neighbour.zip}; check the zip code and the coordinates.",
        record.row,
        "zip",
    )
