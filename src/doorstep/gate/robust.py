"""Robust location statistics: medians and median absolute deviations on the sphere."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

MAD_TO_SIGMA = 1.4826
"""Scale that turns a median absolute deviation into a standard deviation (normal data)."""

FloatArray = npt.NDArray[np.float64]


def median_centre(lat: FloatArray, lon: FloatArray) -> tuple[float, float]:
    """Coordinate-wise median: a centre that a few wild points cannot drag away."""
    return float(np.median(lat)), float(np.median(lon))


def robust_radius(distances: FloatArray, k: float) -> float:
    """Median distance plus ``k`` robust standard deviations of the distances."""
    median = float(np.median(distances))
    mad = float(np.median(np.abs(distances - median)))
    return median + k * MAD_TO_SIGMA * mad
