"""The gate's tunable thresholds, with the reasoning behind each default."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GateSettings:
    """Thresholds of the gate's statistical rules.

    Parameters
    ----------
    outlier_mad_k
        A stop is outside the service area when its distance from the area's
        centre exceeds the median distance by more than ``outlier_mad_k`` robust
        standard deviations (1.4826 x the median absolute deviation). 6 keeps
        a ragged metro area's suburbs in and a stop in another city out.
    outlier_min_m
        ...and by at least this many metres from the centre, so a compact
        service area (every stop within 1 km) does not flag a stop 2 km out.
    min_points_for_area
        Fewer located stops and depots than this, and no service area is
        estimated (nothing is flagged as an outlier).
    zip_min_group
        A zip code is checked only when at least this many stops share it.
    zip_factor
        A stop is isolated from its zip code when the nearest other stop with
        that zip is farther than ``zip_factor`` times the zip's usual spacing
        (see :mod:`doorstep.gate.rules.zips`)...
    zip_min_m
        ...and farther than this many metres, whatever the spacing.
    phone_region
        ISO 3166 region (``"FI"``, ``"US"``) used to check phone numbers written
        without a country code. ``None``: such numbers are only checked for a
        plausible length and characters; numbers with ``+`` are always checked
        against their country's numbering plan.
    worker_min_phones
        From this many phone numbers on, they are checked in a second process
        while the rest of the gate runs (the check costs ~25 µs a number; a
        worker costs ~0.5 s to start). ``0`` never starts a worker.
    """

    outlier_mad_k: float = 6.0
    outlier_min_m: float = 5_000.0
    min_points_for_area: int = 5
    zip_min_group: int = 4
    zip_factor: float = 2.0
    zip_min_m: float = 300.0
    phone_region: str | None = None
    worker_min_phones: int = 20_000
