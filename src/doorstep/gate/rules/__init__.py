"""The gate's rules: one function per rule, each yielding findings with a stable code."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from doorstep.domain.finding import Finding
from doorstep.gate.context import RuleContext
from doorstep.gate.rules.apartments import check_missing_unit
from doorstep.gate.rules.capacity import check_demand_fits, check_skills_available
from doorstep.gate.rules.contact import check_email, check_phone
from doorstep.gate.rules.coordinates import check_coordinates
from doorstep.gate.rules.duplicates import check_duplicate_ids, check_duplicate_stops
from doorstep.gate.rules.pairs import check_paired_pickups
from doorstep.gate.rules.windows import check_windows, check_windows_within_shifts
from doorstep.gate.rules.zips import check_zip_matches_location, check_zip_numbers

Rule = Callable[[RuleContext], Iterable[Finding]]

ORDER_RULES: dict[str, Rule] = {
    "coordinates": check_coordinates,
    "zip": check_zip_matches_location,
    "zip_number": check_zip_numbers,
    "unit": check_missing_unit,
    "duplicate_ids": check_duplicate_ids,
    "duplicate_stops": check_duplicate_stops,
    "paired_pickup": check_paired_pickups,
    "windows": check_windows,
    "windows_vs_shifts": check_windows_within_shifts,
    "capacity": check_demand_fits,
    "skills": check_skills_available,
    "phone": check_phone,
    "email": check_email,
}
"""Every order rule by name, in the order they run (a plain registry)."""

__all__ = ["ORDER_RULES", "Rule"]
