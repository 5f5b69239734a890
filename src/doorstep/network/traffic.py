"""Time of day: per-hour speed multipliers per road class.

A multiplier of 0.6 on ``primary`` at 08:00 means primary roads are driven at
60% of their usual speed in that hour. Classes not named keep 1.0. The
built-in :data:`URBAN_WEEKDAY` is a rough, documented default for a European
city (morning peak 07-09, evening peak 15-17 on the main roads), not a
measurement: replace it with your own figures from a YAML or JSON file::

    # traffic.yaml: road class -> 24 multipliers (hour 0 .. 23), or hour -> value
    primary: [1, 1, 1, 1, 1, 1, 0.9, 0.6, 0.6, 0.8, 0.9, 0.9,
              0.9, 0.9, 0.85, 0.65, 0.6, 0.7, 0.9, 1, 1, 1, 1, 1]
    residential: {7: 0.9, 8: 0.9, 16: 0.9}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import yaml

from doorstep.errors import InputError
from doorstep.network.profiles import CLASS_INDEX, ROAD_CLASSES

HOURS = 24


@dataclass(frozen=True, slots=True)
class TrafficProfile:
    """Speed multipliers per road class and hour.

    Attributes
    ----------
    name
        Shown in outputs ("urban weekday", a file name).
    multipliers
        Road class -> 24 multipliers, hour 0 to 23.
    """

    name: str
    multipliers: Mapping[str, tuple[float, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for road_class, values in self.multipliers.items():
            if road_class not in CLASS_INDEX:
                raise ValueError(f"unknown road class {road_class!r} in traffic profile")
            if len(values) != HOURS or min(values) <= 0:
                raise ValueError(f"{road_class}: need 24 positive multipliers")

    def for_hour(self, hour: int) -> npt.NDArray[np.float64]:
        """Multiplier of every road class (in :data:`ROAD_CLASSES` order) at ``hour``."""
        if not 0 <= hour < HOURS:
            raise ValueError(f"hour must be 0-23, not {hour}")
        out = np.ones(len(ROAD_CLASSES))
        for road_class, values in self.multipliers.items():
            out[CLASS_INDEX[road_class]] = values[hour]
        return out


def _peaks(morning: float, evening: float) -> tuple[float, ...]:
    hours = [1.0] * HOURS
    for h in (7, 8):
        hours[h] = morning
    hours[6] = hours[9] = (1 + morning) / 2
    for h in (15, 16):
        hours[h] = evening
    hours[14] = hours[17] = (1 + evening) / 2
    return tuple(hours)


URBAN_WEEKDAY = TrafficProfile(
    "urban weekday",
    {
        "motorway": _peaks(0.6, 0.55),
        "trunk": _peaks(0.6, 0.55),
        "primary": _peaks(0.65, 0.6),
        "secondary": _peaks(0.7, 0.65),
        "tertiary": _peaks(0.8, 0.75),
        "unclassified": _peaks(0.9, 0.9),
        "residential": _peaks(0.9, 0.9),
    },
)
"""Rough default: main roads at 55-70% speed in the peaks, side streets at 90%."""


def read_traffic(path: Path) -> TrafficProfile:
    """A traffic profile from a YAML or JSON file (see the module docs for the shape).

    Raises
    ------
    InputError
        The file is missing, does not parse, or names an unknown class or hour.
    """
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as error:
        raise InputError(f"{path}: cannot read traffic profile ({error})") from error
    if not isinstance(raw, dict):
        raise InputError(f"{path}: a traffic profile maps road classes to multipliers")
    table: dict[str, tuple[float, ...]] = {}
    for road_class, values in raw.items():
        if isinstance(values, dict):
            hours = [1.0] * HOURS
            for hour, value in values.items():
                if not isinstance(hour, int) or not 0 <= hour < HOURS:
                    raise InputError(f"{path}: {road_class}: hour {hour!r} is not 0-23")
                hours[hour] = float(value)
            table[str(road_class)] = tuple(hours)
        elif isinstance(values, list):
            table[str(road_class)] = tuple(float(v) for v in values)
        else:
            raise InputError(f"{path}: {road_class}: give 24 numbers or hour: value pairs")
    try:
        return TrafficProfile(path.name, table)
    except ValueError as error:
        raise InputError(f"{path}: {error}") from error
