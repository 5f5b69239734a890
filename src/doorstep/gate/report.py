"""The gate's answer: every row accepted or named, with the findings and the clean orders.

JSON shape (``doorstep validate --format json``), documented in ``docs/gate.md``::

    {
      "rows": 300,            # data rows read from the orders file
      "accepted": 281,        # rows that became orders (they may carry warnings)
      "rejected": 19,         # rows with at least one error, left out of planning
      "errors": 20, "warnings": 9,
      "findings": [{"row", "field", "code", "severity", "message", "source"}],
      "fleet": {"rows": 7, "vehicles": 7, "depots": 1} | null,
      "ignored_columns": ["internal_ref"]
    }
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from doorstep.domain.finding import Finding, Severity
from doorstep.domain.fleet import Fleet
from doorstep.domain.order import Order

EXIT_CLEAN = 0
EXIT_WARNINGS = 1
EXIT_ERRORS = 2


def rejected_rows(findings: Iterable[Finding]) -> frozenset[int]:
    """Rows of the orders file with at least one error: the rows left out of planning."""
    return frozenset(
        f.row
        for f in findings
        if f.severity is Severity.ERROR and f.source == "orders" and f.row is not None
    )


@dataclass(frozen=True, slots=True)
class Report:
    """The outcome of validating a manifest (and optionally its fleet)."""

    source: str
    rows: int
    orders: tuple[Order, ...]
    findings: tuple[Finding, ...]
    fleet: Fleet | None = None
    fleet_rows: int = 0
    ignored_columns: tuple[str, ...] = ()
    order_rows: Mapping[str, int] = field(default_factory=dict)
    """Order id -> the row of the orders file it came from."""

    def findings_of(self, order_id: str) -> tuple[Finding, ...]:
        """The findings of the orders file's row that made ``order_id``."""
        row = self.order_rows.get(order_id)
        if row is None:
            return ()
        return tuple(f for f in self.findings if f.source == "orders" and f.row == row)

    @property
    def accepted(self) -> int:
        """Number of rows that became orders."""
        return len(self.orders)

    @property
    def rejected_rows(self) -> frozenset[int]:
        """Rows of the orders file with at least one error."""
        return rejected_rows(self.findings)

    def count(self, severity: Severity) -> int:
        """Number of findings of a severity."""
        return sum(1 for f in self.findings if f.severity is severity)

    def by_code(self) -> Counter[str]:
        """Number of findings per code."""
        return Counter(f.code for f in self.findings)

    @property
    def exit_code(self) -> int:
        """0 when clean, 1 with warnings only, 2 with errors."""
        if self.count(Severity.ERROR):
            return EXIT_ERRORS
        return EXIT_WARNINGS if self.findings else EXIT_CLEAN

    def as_dict(self) -> dict[str, object]:
        """The documented JSON shape of the report."""
        fleet = None
        if self.fleet is not None:
            fleet = {
                "rows": self.fleet_rows,
                "vehicles": len(self.fleet.vehicles),
                "depots": len(self.fleet.depots),
            }
        return {
            "source": self.source,
            "rows": self.rows,
            "accepted": self.accepted,
            "rejected": self.rows - self.accepted,
            "errors": self.count(Severity.ERROR),
            "warnings": self.count(Severity.WARNING),
            "findings": [f.as_dict() for f in self.findings],
            "fleet": fleet,
            "ignored_columns": list(self.ignored_columns),
        }
