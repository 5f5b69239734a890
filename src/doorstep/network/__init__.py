"""Travel times and distances: one protocol, one module per provider."""

from doorstep.network.provider import UNREACHABLE, Matrices, TravelTimeProvider
from doorstep.network.straight_line import StraightLineProvider

__all__ = ["UNREACHABLE", "Matrices", "StraightLineProvider", "TravelTimeProvider"]
