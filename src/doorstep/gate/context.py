"""What every rule may look at: the records, the fleet, the settings, the service area."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np

from doorstep.domain.fleet import Fleet
from doorstep.gate.normalise import building_key
from doorstep.gate.robust import FloatArray, median_centre, robust_radius
from doorstep.gate.settings import GateSettings
from doorstep.io.orders import OrderRecord
from doorstep.units import haversine_array_m, haversine_m


def in_range(lat: float, lon: float) -> bool:
    """Whether ``(lat, lon)`` are valid WGS84 degrees and not the (0, 0) placeholder."""
    return -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0 and (lat, lon) != (0.0, 0.0)


@dataclass(frozen=True, slots=True)
class ServiceArea:
    """Where the day's stops are: a robust centre and the distance beyond which a stop is odd."""

    lat: float
    lon: float
    radius_m: float
    typical_m: float
    """Median distance of the stops from the centre, for messages."""

    def distance_m(self, lat: float, lon: float) -> float:
        """Great-circle distance from the centre, in metres."""
        return haversine_m(self.lat, self.lon, lat, lon)

    def contains(self, lat: float, lon: float) -> bool:
        """Whether the point lies within the area's radius."""
        return self.distance_m(lat, lon) <= self.radius_m


class PendingRows(Protocol):
    """A set of rows being computed elsewhere (a worker process)."""

    def result(self) -> set[int]:
        """Wait for the rows and return them."""
        ...


@dataclass(eq=False)
class RuleContext:
    """Inputs shared by the rules, with the service area computed once on demand.

    Attributes
    ----------
    records
        The readable order rows.
    fleet
        The usable fleet, if one was given.
    settings
        The gate's thresholds.
    invalid_phones
        Rows with invalid phones being computed in a worker process, if one was started.
    """

    records: Sequence[OrderRecord]
    fleet: Fleet | None
    settings: GateSettings
    invalid_phones: PendingRows | None = None

    def invalid_phone_rows(self) -> set[int]:
        """Rows with an invalid phone: from the worker if one was started, else computed here."""
        if self.invalid_phones is not None:
            return self.invalid_phones.result()
        from doorstep.gate.rules.contact import invalid_phone_rows

        phones = [(r.row, r.phone) for r in self.records if r.phone]
        return invalid_phone_rows(phones, self.settings.phone_region)

    @cached_property
    def buildings(self) -> dict[int, str]:
        """Row -> building key (normalised street and zip), for rows with an address."""
        return {r.row: building_key(r.address, r.zip) for r in self.records if r.address}

    @cached_property
    def _located_rows(self) -> tuple[list[int], FloatArray, FloatArray]:
        rows, lats, lons = [], [], []
        for r in self.records:
            if r.lat is not None and r.lon is not None and in_range(r.lat, r.lon):
                rows.append(r.row)
                lats.append(r.lat)
                lons.append(r.lon)
        return rows, np.array(lats, dtype=np.float64), np.array(lons, dtype=np.float64)

    @cached_property
    def service_area(self) -> ServiceArea | None:
        """The robust service area of the located stops and depots, if there are enough."""
        _, lat, lon = self._located_rows
        if self.fleet is not None and self.fleet.depots:
            lat = np.append(lat, [d.location.lat for d in self.fleet.depots])
            lon = np.append(lon, [d.location.lon for d in self.fleet.depots])
        if len(lat) < self.settings.min_points_for_area:
            return None
        centre = median_centre(lat, lon)
        distances = haversine_array_m(lat, lon, *centre)
        radius = max(
            robust_radius(distances, self.settings.outlier_mad_k), self.settings.outlier_min_m
        )
        return ServiceArea(centre[0], centre[1], radius, float(np.median(distances)))

    @cached_property
    def distance_from_centre(self) -> dict[int, float]:
        """Row -> distance in metres from the service area's centre, for valid coordinates."""
        area = self.service_area
        if area is None:
            return {}
        rows, lat, lon = self._located_rows
        return dict(
            zip(rows, haversine_array_m(lat, lon, area.lat, area.lon).tolist(), strict=True)
        )

    def located(self, record: OrderRecord) -> bool:
        """Whether the record has trustworthy coordinates: valid and inside the service area."""
        if record.lat is None or record.lon is None or not in_range(record.lat, record.lon):
            return False
        area = self.service_area
        return area is None or self.distance_from_centre[record.row] <= area.radius_m
