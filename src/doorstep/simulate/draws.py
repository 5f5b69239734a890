"""Random numbers named by what they are for: common random numbers between plans.

Each draw is a pure function of ``(seed, run, purpose, key)``: a BLAKE2b hash
turned into a uniform number in (0, 1). Two plans simulated with the same
seed therefore see the same presence draw for an order in run ``r``, the same
noise on a leg both drive (same origin and destination), and the same
breakdown clock per vehicle, whatever else differs between them; and a run is
the same whichever order the runs are made in. A same-day second visit of an
order is keyed ``<order>#2`` (its presence and service time are drawn afresh,
the same in every plan that makes it).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from statistics import NormalDist

_SCALE = float(1 << 53)
_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class Draws:
    """The random numbers of one run of one seed."""

    seed: int
    run: int

    def uniform(self, purpose: str, key: str) -> float:
        """A uniform number in (0, 1), the same for the same seed, run, purpose and key."""
        text = f"{self.seed}|{self.run}|{purpose}|{key}".encode()
        digest = hashlib.blake2b(text, digest_size=8).digest()
        return ((int.from_bytes(digest, "big") >> 11) + 0.5) / _SCALE

    def normal(self, purpose: str, key: str) -> float:
        """A standard normal number (inverse CDF of :meth:`uniform`)."""
        return _NORMAL.inv_cdf(self.uniform(purpose, key))

    def exponential(self, purpose: str, key: str, rate: float) -> float:
        """An exponential number of mean ``1 / rate`` (``inf`` when ``rate`` is 0)."""
        if rate <= 0:
            return math.inf
        return -math.log(self.uniform(purpose, key)) / rate
