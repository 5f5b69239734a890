"""Travel times and distances: one protocol, one module per provider."""

from doorstep.network.provider import Matrices, TravelTimeProvider
from doorstep.network.straight_line import StraightLineProvider

__all__ = ["Matrices", "StraightLineProvider", "TravelTimeProvider"]
