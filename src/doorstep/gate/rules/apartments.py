"""Rule: a stop in a building with several units needs its unit (apartment) number."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from doorstep.domain.finding import Finding, Severity
from doorstep.gate.context import RuleContext

MULTI_UNIT_WORDS = re.compile(
    r"\b(apartments?|apts|flats|residences?|condominiums?|condos?|lofts|tower|"
    r"as\.?\s*oy|asunto\s*oy|bostads\s*ab|dormitory|student\s+housing)\b",
    re.IGNORECASE,
)
"""Words in an address line that say the building holds several homes."""

UNIT_IN_ADDRESS = re.compile(
    r"(\b(apt|apartment|flat|suite|ste|unit|as|lgh|bostad|room|rm)\b\.?\s*\w+|#\s*\w+"
    r"|\b\d+\s*[a-z]\s+\d+\s*$)",
    re.IGNORECASE,
)
"""A unit written inside the address line itself: "Apt 4", "#12", "Fredrikinkatu 5 A 12"."""


def check_missing_unit(ctx: RuleContext) -> Iterator[Finding]:
    """Flag a missing unit where the building evidently has several (``unit_missing``, warning).

    The evidence is either another order at the same street address and zip
    that gives a unit, or a word in the address line such as "Apartments" or
    "As Oy". A unit written in the address line ("Apt 4") counts as given.
    """
    buildings = ctx.buildings
    with_units: dict[str, list[int]] = defaultdict(list)
    for record in ctx.records:
        if record.address and record.unit:
            with_units[buildings[record.row]].append(record.row)
    for record in ctx.records:
        if record.unit or not record.address or UNIT_IN_ADDRESS.search(record.address):
            continue
        rows = with_units.get(buildings[record.row])
        if rows:
            shown = ", ".join(str(row) for row in rows[:3]) + (", ..." if len(rows) > 3 else "")
            reason = f"other orders at {record.address} give a unit (rows {shown})"
        elif MULTI_UNIT_WORDS.search(record.address):
            reason = f"'{record.address}' is a building with several units"
        else:
            continue
        yield Finding(
            "unit_missing",
            Severity.WARNING,
            f"no unit/apartment number, but {reason}; add the unit or the driver may "
            "not find the door.",
            record.row,
            "unit",
        )
