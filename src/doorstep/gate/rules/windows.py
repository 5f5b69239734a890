"""Rules about time windows: well formed, long enough, and within some vehicle's shift.

A window is when the stop should be served, service included: a driver who
starts at the window's opening must be able to finish before it closes.
"""

from __future__ import annotations

from collections.abc import Iterator

from doorstep.domain.finding import Finding, Severity
from doorstep.gate.context import RuleContext
from doorstep.units import format_clock


def _span(window: tuple[int, int]) -> str:
    return f"{format_clock(window[0])}-{format_clock(window[1])}"


def check_windows(ctx: RuleContext) -> Iterator[Finding]:
    """Flag windows that end before they start, or are too short for the service time.

    Codes: ``window_end_before_start``, ``window_shorter_than_service`` (errors).
    """
    for record in ctx.records:
        if "windows" in record.unparsed or not record.windows:
            continue
        inverted = [w for w in record.windows if w[1] < w[0]]
        if inverted:
            start, end = inverted[0]
            yield Finding(
                "window_end_before_start",
                Severity.ERROR,
                f"the window ends at {format_clock(end)}, before it starts at "
                f"{format_clock(start)}; swap or correct the times.",
                record.row,
                "window_end",
            )
        elif all(end - start < record.service_s for start, end in record.windows):
            longest = max(end - start for start, end in record.windows)
            yield Finding(
                "window_shorter_than_service",
                Severity.ERROR,
                f"the window lasts {longest // 60} min but the stop needs "
                f"{record.service_s // 60} min of service; widen the window or shorten the "
                "service time.",
                record.row,
                "window_end",
            )


def check_windows_within_shifts(ctx: RuleContext) -> Iterator[Finding]:
    """Flag an order no vehicle's shift can serve inside its windows (``window_outside_shifts``).

    Needs a fleet. Travel from the depot is not counted here; the planner
    reports windows that are unreachable in practice.
    """
    fleet = ctx.fleet
    if fleet is None or not fleet.vehicles:
        return
    shifts = sorted({(v.shift.start, v.shift.end) for v in fleet.vehicles})
    earliest = min(s for s, _ in shifts)
    latest = max(e for _, e in shifts)
    for record in ctx.records:
        if "windows" in record.unparsed or not record.windows:
            continue
        service = record.service_s
        if not any(service <= end - start for start, end in record.windows):
            continue  # inverted or too short: check_windows has reported it
        if any(
            max(ws, ss) + service <= min(we, se) for ws, we in record.windows for ss, se in shifts
        ):
            continue
        windows = ", ".join(_span(w) for w in record.windows)
        yield Finding(
            "window_outside_shifts",
            Severity.ERROR,
            f"no vehicle is on shift during {windows} (shifts run from "
            f"{format_clock(earliest)} to {format_clock(latest)}); move the window or add a "
            "vehicle with a matching shift.",
            record.row,
            "window_start",
        )
