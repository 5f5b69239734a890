"""The failure-risk protocol every consumer uses (planner, slot offers, simulator).

A risk source answers one question: the chance that a first delivery attempt
fails for this customer, in this area, at this moment, for this parcel. The
trained model (:mod:`doorstep.learn.model`) implements it; :class:`ConstantRisk`
is the stand-in when no model is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol, runtime_checkable

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


class RiskQuery(NamedTuple):
    """One question to a risk source: the arguments of :meth:`FailureRisk.p_fail`."""

    customer_id: str | None
    area: str | None
    when: datetime
    weight_g: int = 0
    volume_ml: int = 0


class RiskAnswerError(ValueError):
    """A risk source answered outside [0, 1]; ``index`` is the query's position."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


@runtime_checkable
class BatchRisk(Protocol):
    """A risk source that answers many questions at once (faster than one by one)."""

    def p_fail_many(self, queries: Sequence[RiskQuery]) -> Sequence[float]:
        """P(first attempt fails) per query, in order."""
        ...


def ask(risk: FailureRisk, queries: Sequence[RiskQuery]) -> list[float]:
    """Ask ``risk`` every question, in one batch when it can answer so.

    Parameters
    ----------
    risk
        Any risk source; one that is a :class:`BatchRisk` is asked once.
    queries
        The questions.

    Returns
    -------
    list of float
        P(fail) per query, in order.

    Raises
    ------
    RiskAnswerError
        An answer outside [0, 1] (or NaN): the risk source is broken.
    """
    if not queries:
        return []
    if isinstance(risk, BatchRisk):
        answers = [float(p) for p in risk.p_fail_many(queries)]
    else:
        answers = [float(risk.p_fail(*q)) for q in queries]
    for index, (query, p) in enumerate(zip(queries, answers, strict=True)):
        if not 0.0 <= p <= 1.0:  # also refuses NaN
            raise RiskAnswerError(
                f"the risk source gave {p} for customer {query.customer_id!r} at "
                f"{query.when:%Y-%m-%d %H:%M}; not in [0, 1]",
                index,
            )
    return answers


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
