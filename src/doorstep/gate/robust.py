"""Robust location statistics: medians and median absolute deviations on the sphere."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from doorstep.units import EARTH_RADIUS_M

MAD_TO_SIGMA = 1.4826
"""Scale that turns a median absolute deviation into a standard deviation (normal data)."""

FloatArray = npt.NDArray[np.float64]


def haversine_to(lat: FloatArray, lon: FloatArray, lat0: float, lon0: float) -> FloatArray:
    """Great-circle distances in metres from each ``(lat, lon)`` to ``(lat0, lon0)``."""
    phi, phi0 = np.radians(lat), np.radians(lat0)
    dphi = phi - phi0
    dlam = np.radians(lon - lon0)
    a = np.sin(dphi / 2) ** 2 + np.cos(phi) * np.cos(phi0) * np.sin(dlam / 2) ** 2
    result: FloatArray = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    return result


def median_centre(lat: FloatArray, lon: FloatArray) -> tuple[float, float]:
    """Coordinate-wise median: a centre that a few wild points cannot drag away."""
    return float(np.median(lat)), float(np.median(lon))


def robust_radius(distances: FloatArray, k: float) -> float:
    """Median distance plus ``k`` robust standard deviations of the distances."""
    median = float(np.median(distances))
    mad = float(np.median(np.abs(distances - median)))
    return median + k * MAD_TO_SIGMA * mad
