"""The failure-risk protocol every consumer uses (planner, slot offers, simulator).

A risk source answers one question: the chance that a first delivery attempt
fails for this customer, in this area, at this moment, for this parcel. The
trained model (:mod:`doorstep.learn.model`) implements it; :class:`ConstantRisk`
is the stand-in when no model is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

BASE_RATE = 0.0444
"""Share of failed first attempts in the shared Changshu data (4,969 of 111,856)."""


class FailureRisk(Protocol):
    """The chance that a first attempt fails."""

    def p_fail(
        self,
        customer_id: str | None,
        area: str | None,
        when: datetime,
        weight_g: int = 0,
        volume_ml: int = 0,
    ) -> float:
        """P(first attempt fails) for a visit at ``when`` (local time, aware or naive)."""
        ...


@dataclass(frozen=True, slots=True)
class ConstantRisk:
    """The same chance everywhere and always (no model)."""

    rate: float = BASE_RATE

    def p_fail(
        self,
        customer_id: str | None,
        area: str | None,
        when: datetime,
        weight_g: int = 0,
        volume_ml: int = 0,
    ) -> float:
        """:attr:`rate`, whatever is asked."""
        return self.rate
