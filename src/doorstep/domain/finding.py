"""What the gate says about one row: a finding with a stable code."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """How bad a finding is.

    ``error``: the row cannot be planned and is left out. ``warning``: the row is
    planned but likely to fail at the door.
    """

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem with one row (or the whole file when ``row`` is ``None``).

    ``row`` is the line a spreadsheet shows (header = 1, first data row = 2); for
    JSON and GeoJSON it is the 1-based position in the list of orders.
    ``source`` is ``"orders"`` or ``"fleet"``.
    """

    code: str
    severity: Severity
    message: str
    row: int | None = None
    field: str | None = None
    source: str = "orders"

    def as_dict(self) -> dict[str, object]:
        """The documented JSON shape of a finding."""
        return {
            "row": self.row,
            "field": self.field,
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "source": self.source,
        }
