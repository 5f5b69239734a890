"""When a stop may be served."""

from __future__ import annotations

from dataclasses import dataclass

from doorstep.errors import DomainError
from doorstep.units import format_clock


@dataclass(frozen=True, slots=True, order=True)
class TimeWindow:
    """A closed interval ``[start, end]`` in seconds after midnight of the planning day."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start < 0:
            raise DomainError(f"a time window cannot start before midnight ({self.start} s)")
        if self.end < self.start:
            raise DomainError(
                f"time window ends ({format_clock(self.end)}) before it starts "
                f"({format_clock(self.start)})"
            )

    @property
    def duration(self) -> int:
        """Length of the window in seconds."""
        return self.end - self.start

    def overlaps(self, other: TimeWindow) -> bool:
        """Whether the two windows share at least one instant."""
        return self.start <= other.end and other.start <= self.end

    def __str__(self) -> str:
        return f"{format_clock(self.start)}-{format_clock(self.end)}"
