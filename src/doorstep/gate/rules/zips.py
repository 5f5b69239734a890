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

from collections import defaultdict
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
