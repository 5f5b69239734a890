"""Rules about where a stop is: missing, unusable, swapped or far-flung coordinates."""

from __future__ import annotations

from collections.abc import Iterator

from doorstep.domain.finding import Finding, Severity
from doorstep.gate.context import RuleContext, ServiceArea, in_range
from doorstep.io.orders import OrderRecord


def _km(metres: float) -> str:
    return f"{metres / 1000:,.1f} km"


def check_coordinates(ctx: RuleContext) -> Iterator[Finding]:
    """Flag missing, (0, 0), out-of-range, swapped and out-of-area coordinates.

    Codes: ``coord_missing``, ``coord_null_island``, ``coord_out_of_range``,
    ``coord_swapped`` (errors) and ``coord_outlier`` (warning: far outside the
    service area, a robust estimate from all stops and depots).
    """
    area = ctx.service_area
    distances = ctx.distance_from_centre
    for record in ctx.records:
        if "coordinates" in record.unparsed:
            continue
        lat, lon = record.lat, record.lon
        if lat is None or lon is None:
            missing = "lat" if lat is None else "lon"
            yield Finding(
                "coord_missing",
                Severity.ERROR,
                "no coordinates; add lat and lon (decimal degrees) or geocode the address.",
                record.row,
                missing,
            )
        elif lat == 0.0 and lon == 0.0:
            yield Finding(
                "coord_null_island",
                Severity.ERROR,
                "coordinates are (0, 0), a placeholder for a failed geocode; "
                "geocode the address again.",
                record.row,
                "lat",
            )
        elif not in_range(lat, lon):
            yield _out_of_range(record, lat, lon, area)
        elif area is not None and distances[record.row] > area.radius_m:
            yield _far(record, lat, lon, distances[record.row], area)


def _swap_fits(lat: float, lon: float, area: ServiceArea | None) -> bool:
    return in_range(lon, lat) and area is not None and area.contains(lon, lat)


def _swapped(record: OrderRecord, lat: float, lon: float) -> Finding:
    return Finding(
        "coord_swapped",
        Severity.ERROR,
        f"lat {lat} and lon {lon} look swapped: exchanged, the stop falls among the "
        "other stops; swap the two values.",
        record.row,
        "lat",
    )


def _out_of_range(record: OrderRecord, lat: float, lon: float, area: ServiceArea | None) -> Finding:
    if _swap_fits(lat, lon, area):
        return _swapped(record, lat, lon)
    field_name = "lat" if not -90.0 <= lat <= 90.0 else "lon"
    return Finding(
        "coord_out_of_range",
        Severity.ERROR,
        f"({lat}, {lon}) is not on Earth: latitude must lie within ±90 and longitude "
        "within ±180; check the values.",
        record.row,
        field_name,
    )


def _far(
    record: OrderRecord, lat: float, lon: float, distance: float, area: ServiceArea
) -> Finding:
    if _swap_fits(lat, lon, area):
        return _swapped(record, lat, lon)
    return Finding(
        "coord_outlier",
        Severity.WARNING,
        f"the stop lies {_km(distance)} from the centre of the day's stops (half of them "
        f"are within {_km(area.typical_m)}); check the coordinates and the address.",
        record.row,
        "lat",
    )
