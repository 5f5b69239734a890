"""The HTML report: self-contained, every chart drawn from the figures, rendered offline."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from doorstep.analytics.report import ReportData, render_report

CHROMIUM = Path(
    os.environ.get("DOORSTEP_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
)

DATA = ReportData(
    "2026-12-01",
    "2026-12-07",
    {
        "stops": 100,
        "parcels_delivered": 95,
        "on_time_rate": 0.9,
        "first_attempt_success_rate": 0.93,
        "failures_by_reason": {"not_home": 4, "no_access": 1},
        "km_per_stop": 1.2,
        "cost_per_parcel": 2.5,
        "eta_mae_min": 7.5,
    },
    by_hour=[{"key": h, "on_time_rate": 0.8 + h / 100} for h in range(8, 18)],
    by_area=[
        {
            "key": "00100",
            "first_attempt_success_rate": 0.9,
            "parcels_attempted": 40,
            "lat": 60.17,
            "lon": 24.94,
        },
        {
            "key": "00200",
            "first_attempt_success_rate": 0.97,
            "parcels_attempted": 60,
            "lat": 60.16,
            "lon": 24.9,
        },
    ],
    by_driver=[{"key": "d1", "stops": 50, "on_time_rate": 0.9}],
    by_route=[{"key": "P1-VAN-01", "stops": 30, "on_time_rate": 0.8}],
    eta_errors_min=[1, 2, -3, 5, 10, -1],
)


def test_the_report_holds_its_charts_and_needs_no_network() -> None:
    """Four charts, the headline figures and tables; no script or style loaded from anywhere."""
    html = render_report(DATA)
    assert html.count("Plotly.newPlot") == 4
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)
    assert "90.0%" in html and "93.0%" in html and "not home" in html
    assert "P1-VAN-01" in html and '<th scope="col">Driver</th>' in html


def test_charts_without_figures_are_left_out() -> None:
    """A range with nothing to show gives headline figures only, no empty chart."""
    bare = ReportData("2026-12-01", "2026-12-01", {"stops": 0})
    assert "Plotly.newPlot" not in render_report(bare)


def test_text_from_the_data_is_escaped() -> None:
    """A driver id with markup is shown as text, not run."""
    evil = ReportData("a", "b", {"stops": 1}, by_driver=[{"key": "<script>x()</script>"}])
    assert "<script>x()</script>" not in render_report(evil)


@pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="environment: chromium is not installed (scripts/test-chromium.sh installs it)",
)
def test_the_report_draws_in_headless_chromium_offline(tmp_path: Path) -> None:
    """Chromium, with no network, draws every chart (Plotly's SVG roots in the DOM)."""
    page = tmp_path / "report.html"
    page.write_text(render_report(DATA), encoding="utf-8")
    dom = subprocess.run(
        [
            str(CHROMIUM),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=5000",
            "--proxy-server=127.0.0.1:9",  # any network request would fail
            "--dump-dom",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert dom.count('class="main-svg"') >= 4
