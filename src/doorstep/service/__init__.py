"""The service's background work: planning jobs (:mod:`doorstep.service.planning`)."""

from __future__ import annotations

from doorstep.service.planning import (
    INTERRUPTED_BY_RESTART,
    INTERRUPTED_BY_SHUTDOWN,
    PlanningInterruptedError,
    PlanningJobs,
    PlanRequest,
    PlanStatus,
    ProgressWriter,
    provider_for,
)

__all__ = [
    "INTERRUPTED_BY_RESTART",
    "INTERRUPTED_BY_SHUTDOWN",
    "PlanRequest",
    "PlanStatus",
    "PlanningInterruptedError",
    "PlanningJobs",
    "ProgressWriter",
    "provider_for",
]
