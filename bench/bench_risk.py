"""Benchmark: the failure-risk model on the shared Changshu data, time split.

Trains on January-April 2024 (``--train-until 2024-04-30``), evaluates on
May-June (days the model never saw; each attempt's history features use only
the days strictly before it), and prints AUC, Brier score and log loss of the
model against the two baselines (the overall rate; the customer's own past
rate), by default (refit on the whole window for histories this size) and with
``--no-refit``, and the training time.
Targets (issue 17): AUC >= 0.80, Brier below the customer-past-rate baseline's.

Usage::

    cd bench && python bench_risk.py [--data ../../shared/data/parl_changshu/orders_2024H1.csv]
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

from doorstep.cli.risk import evaluate
from doorstep.learn.history import read_history
from doorstep.learn.model import train
from machine import describe

DEFAULT = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "parl_changshu" / "orders_2024H1.csv"
)


def main() -> None:
    """Train, evaluate, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT)
    args = parser.parse_args()
    print(describe())
    started = time.perf_counter()
    history = read_history(args.data)
    print(f"read {len(history):,} attempts in {time.perf_counter() - started:.1f} s")
    print("| model | train s | predictor | AUC | Brier | log loss | mean p |")
    print("|---|---|---|---|---|---|---|")
    for refit in (None, False):
        started = time.perf_counter()
        model = train(history, date(2024, 4, 30), refit=refit)
        seconds = time.perf_counter() - started
        result = evaluate(model, history, date(2024, 5, 1), date(2024, 6, 30))
        name = "default" if refit is None else "--no-refit"
        for predictor, m in result["metrics"].items():
            if refit is not None and predictor != "model":
                continue
            print(
                f"| {name} | {seconds:.1f} | {predictor} | {m['auc']:.3f} | {m['brier']:.4f} "
                f"| {m['log_loss']:.4f} | {m['mean_predicted']:.4f} |"
            )
    print(
        f"test: {result['rows']:,} attempts {result['from']}..{result['to']}, "
        f"{result['failures']:,} failed"
    )


if __name__ == "__main__":
    main()
