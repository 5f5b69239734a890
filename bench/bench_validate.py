"""Benchmark: validate a 100,000-order manifest (target <= 10 s, <= 1 GB peak memory).

The manifest is generated deterministically: stops spread over a 30 x 30 km
metro area around Helsinki, synthetic zip codes by 2 km grid cell (so the zip
rule has real work), apartment units, windows, Finnish phone numbers, and about
1% of rows with one planted defect each (bad coordinates, duplicate ids,
inverted windows, malformed contacts, overweight parcels...).

Each run is a fresh ``doorstep validate --format json`` process; wall time
includes start-up, reading, every rule and writing the JSON. Peak memory is the
child's maximum resident set size.

Usage::

    python bench/bench_validate.py [--orders 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from doorstep.io.columns import ORDER_COLUMNS
from machine import describe, reference_seconds

REPO = Path(__file__).resolve().parents[1]
FLEET = REPO / "examples" / "helsinki" / "fleet.csv"
HEADER = list(ORDER_COLUMNS)
STREETS = [
    "Mannerheimintie",
    "Hämeentie",
    "Mechelininkatu",
    "Itäväylä",
    "Tuusulanväylä",
    "Fredrikinkatu",
    "Bulevardi",
    "Sturenkatu",
    "Mäkelänkatu",
    "Lauttasaarentie",
]
WINDOWS = [("08:00", "12:00"), ("12:00", "16:00"), ("16:00", "20:00"), ("09:00", "11:00"), ("", "")]


def hash_street(street: str, number: int) -> int:
    """A stable per-building number (str hashes vary between runs)."""
    return sum(map(ord, street)) * 131 + number


def _defect(row: dict[str, str], rng: random.Random) -> None:
    kind = rng.randrange(8)
    if kind == 0:
        row["lat"], row["lon"] = row["lon"], row["lat"]
    elif kind == 1:
        row["lat"] = ""
    elif kind == 2:
        row["window_start"], row["window_end"] = "14:00", "10:00"
    elif kind == 3:
        row["email"] = "broken@"
    elif kind == 4:
        row["weight_kg"] = "1800"
    elif kind == 5:
        row["phone"] = "12-abc"
    elif kind == 6:
        row["order_id"] = "B-000001"
    else:
        row["parcels"] = "-1"


def write_manifest(path: Path, count: int, seed: int = 2026) -> None:
    """Write ``count`` orders to ``path`` (CSV)."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, HEADER)
        writer.writeheader()
        for i in range(1, count + 1):
            lat = 60.17 + rng.uniform(-0.135, 0.135)
            lon = 24.94 + rng.uniform(-0.27, 0.27)
            cell = f"{int((lat - 60.0) / 0.018):02d}{int((lon - 24.6) / 0.036):02d}"
            start, end = rng.choice(WINDOWS)
            number = rng.randint(1, 120)
            street = rng.choice(STREETS)
            blocks = hash_street(street, number) % 10 < 7  # 70% of buildings are blocks of flats
            row = {
                "order_id": f"B-{i:06d}",
                "kind": "pickup" if rng.random() < 0.12 else "delivery",
                "address": f"{street} {number}",
                "unit": f"{rng.choice('ABC')} {rng.randint(1, 60)}" if blocks else "",
                "zip": f"00{cell}"[:5] if len(cell) == 4 else cell,
                "city": "Helsinki",
                "lat": f"{lat:.6f}",
                "lon": f"{lon:.6f}",
                "window_start": start,
                "window_end": end,
                "service_min": str(rng.randint(2, 6)),
                "parcels": str(rng.randint(1, 3)),
                "weight_kg": f"{rng.uniform(0.2, 25):.1f}",
                "volume_l": str(rng.randint(1, 80)),
                "skills": "cold" if rng.random() < 0.03 else "",
                "priority": "0",
                "phone": f"+358 {rng.choice(['40', '44', '50'])} {rng.randint(1000000, 9999999)}",
                "email": f"customer{i}@example.fi",
                "notes": "",
            }
            if rng.random() < 0.01:
                _defect(row, rng)
            writer.writerow(row)


def run_once(manifest: Path) -> tuple[float, float, dict[str, object]]:
    """Validate in a fresh process; return wall seconds, peak MB and the report summary."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "doorstep",
            "validate",
            str(manifest),
            "--fleet",
            str(FLEET),
            "--format",
            "json",
        ],
        capture_output=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if result.returncode not in (0, 1, 2) or not result.stdout:
        raise SystemExit(f"validate failed: {result.stderr.decode()[-2000:]}")
    document = json.loads(result.stdout)
    summary = {k: document[k] for k in ("rows", "accepted", "rejected", "errors", "warnings")}
    # ru_maxrss of children is the largest child so far; runs are alike, so it is this run's.
    return elapsed, max(peak_kb, before) / 1024, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        manifest = Path(folder) / "orders.csv"
        write_manifest(manifest, args.orders)
        size_mb = manifest.stat().st_size / 1e6
        references = [reference_seconds()]
        times, peaks = [], []
        summary: dict[str, object] = {}
        for _ in range(args.runs):
            elapsed, peak, summary = run_once(manifest)
            times.append(elapsed)
            peaks.append(peak)
        references.append(reference_seconds())
    print(describe())
    print(f"manifest: {args.orders:,} orders, {size_mb:.1f} MB CSV; report: {summary}")
    print(
        f"wall time over {args.runs} runs: median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f})"
    )
    print(f"peak memory: {max(peaks):.0f} MB")
    reference = statistics.median(references)
    print(
        f"reference loop (20M iterations) before/after: "
        f"{', '.join(f'{r:.2f}' for r in references)} s; "
        f"validate / reference = {statistics.median(times) / reference:.1f}"
    )


if __name__ == "__main__":
    main()
