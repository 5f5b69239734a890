"""Rule: a stop's zip code should agree with where the stop is."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import numpy as np

from doorstep.domain.finding import Finding, Severity
from doorstep.gate.context import RuleContext
from doorstep.gate.robust import haversine_to, median_centre, robust_radius
from doorstep.io.orders import OrderRecord


def normalise_zip(code: str) -> str:
    """Zip code without spaces or dashes, upper-cased: ``"sw1a 1aa"`` -> ``"SW1A1AA"``."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def check_zip_matches_location(ctx: RuleContext) -> Iterator[Finding]:
    """Flag a stop far from the other stops sharing its zip code (``zip_mismatch``, warning).

    For every zip code shared by at least ``zip_min_group`` located stops, the
    zip's centre is the median of their coordinates and its radius is a robust
    upper bound of their distances from it. No external zip data is used. A
    mismatch is a warning: the stop can be planned, but either the zip code or
    the coordinates are wrong, and the driver may go to the wrong place.
    """
    settings = ctx.settings
    groups: dict[str, list[OrderRecord]] = defaultdict(list)
    for record in ctx.records:
        if record.zip and ctx.located(record):
            groups[normalise_zip(record.zip)].append(record)
    centres: dict[str, tuple[float, float]] = {}
    suspects: list[tuple[OrderRecord, str, float]] = []
    for code, members in groups.items():
        if len(members) < settings.zip_min_group:
            continue
        lat = np.array([m.lat for m in members], dtype=np.float64)
        lon = np.array([m.lon for m in members], dtype=np.float64)
        centre = median_centre(lat, lon)
        centres[code] = centre
        distances = haversine_to(lat, lon, *centre)
        limit = max(settings.zip_factor * robust_radius(distances, 3.0), settings.zip_min_m)
        suspects.extend(
            (members[i], code, float(distances[i])) for i in np.flatnonzero(distances > limit)
        )
    for record, code, distance in suspects:
        yield Finding(
            "zip_mismatch",
            Severity.WARNING,
            f"zip {record.zip} does not match the location: the stop lies "
            f"{distance / 1000:,.1f} km from the other stops with that zip"
            f"{_better_match(record, code, centres)}; check the zip code and the coordinates.",
            record.row,
            "zip",
        )


def _better_match(record: OrderRecord, own: str, centres: dict[str, tuple[float, float]]) -> str:
    others = [code for code in centres if code != own]
    if not others or record.lat is None or record.lon is None:
        return ""
    lat = np.array([centres[c][0] for c in others])
    lon = np.array([centres[c][1] for c in others])
    distances = haversine_to(lat, lon, record.lat, record.lon)
    best = int(np.argmin(distances))
    return f" and {distances[best] / 1000:,.1f} km from those with zip {others[best]}"
