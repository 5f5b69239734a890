"""The gate: check a manifest before planning, and account for every row."""

from doorstep.gate.report import EXIT_CLEAN, EXIT_ERRORS, EXIT_WARNINGS, Report
from doorstep.gate.settings import GateSettings
from doorstep.gate.validate import to_order, validate, validate_files

__all__ = [
    "EXIT_CLEAN",
    "EXIT_ERRORS",
    "EXIT_WARNINGS",
    "GateSettings",
    "Report",
    "to_order",
    "validate",
    "validate_files",
]
