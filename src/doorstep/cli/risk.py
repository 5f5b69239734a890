"""``doorstep risk train|score|report``: the failure-risk model from a delivery history.

Exit codes: 0 done, 2 a mistake in the input (one message, no traceback).
The formats, features and figures: docs/risk.md.
"""

from __future__ import annotations

import html
import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from doorstep.cli.output import fail, stderr, stdout
from doorstep.errors import DoorstepError, InputError

risk_app = typer.Typer(
    help="Learn where and when first attempts fail: train, score, report.",
    no_args_is_help=True,
)

FormatOption = Annotated[
    str, typer.Option("--format", help="History format: auto, generic or changshu.")
]
ModelOption = Annotated[
    Path, typer.Option("--model", help="A model written by doorstep risk train.", exists=False)
]


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(InputError(f"{option} {text!r} is not a day", hint="Write it as YYYY-MM-DD."))


@risk_app.command("train")
def train_command(
    history: Annotated[
        list[Path], typer.Argument(help="History files (CSV/Parquet) or facts dirs.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Where to write the model.")],
    fmt: FormatOption = "auto",
    train_until: Annotated[
        str | None, typer.Option("--train-until", help="Last day to learn from, YYYY-MM-DD.")
    ] = None,
    refit: Annotated[
        bool | None,
        typer.Option(
            "--refit/--no-refit",
            help="Learn again on the whole window after calibrating "
            "(default: when the history holds 20,000 attempts or more).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Train and calibrate the model; write MODEL and MODEL.json (its metadata)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from doorstep.learn.history import read_histories
    from doorstep.learn.model import save, train

    until = _day(train_until, "--train-until")
    try:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=stderr,
            transient=True,
        ) as progress:
            task = progress.add_task("reading the history", total=None)
            frame = read_histories(history, fmt)
            model = train(
                frame,
                until,
                refit=refit,
                progress=lambda text: progress.update(task, description=text),
            )
        sidecar = save(model, out)
    except DoorstepError as error:
        fail(error)
    meta = model.metadata
    slice_ = meta["metrics_calibration_slice"]
    stdout.print(
        f"Trained on {meta['rows']:,} attempts ({meta['failures']:,} failed) from "
        f"{meta['train_window']['from']} to {meta['train_window']['to']}; "
        f"calibration slice {meta['calibration_window']['from']}.."
        f"{meta['calibration_window']['to']}: AUC {slice_['auc']:.3f}, "
        f"Brier {slice_['brier']:.4f}."
    )
    stdout.print(f"Model: {out}; metadata: {sidecar}.")


@risk_app.command("score")
def score_command(
    orders: Annotated[Path, typer.Argument(help="Orders (generic or Changshu, CSV/Parquet).")],
    model_path: ModelOption,
    out: Annotated[Path, typer.Option("--out", help="Where to write the scores (CSV).")],
    fmt: FormatOption = "auto",
) -> None:
    """Write the input rows, in order, with p_fail and the top reasons added."""
    from doorstep.learn.history import read_history, read_table
    from doorstep.learn.model import load

    try:
        model = load(model_path)
        frame = read_history(orders, fmt, labelled=False)
        original = read_table(orders)
    except DoorstepError as error:
        fail(error)
    matrix = model.matrix(frame)
    p = model.predict(matrix)
    reasons = model.explain(matrix)
    back = frame["source_row"].to_numpy().argsort(kind="stable")
    original = original.reset_index(drop=True)
    original["p_fail"] = [round(float(x), 5) for x in p[back]]
    original["reasons"] = [
        "; ".join(f"{name} +{delta:.3f}" for name, delta in reasons[i]) for i in back
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    original.to_csv(out, index=False)
    stdout.print(
        f"Scored {len(original):,} orders: mean p_fail {p.mean():.3f}, "
        f"highest {p.max():.3f}; written to {out}."
    )


def _reliability(y: Any, series: dict[str, Any]) -> str:
    import numpy as np
    import plotly.graph_objects as go

    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=[0, 0.3],
            y=[0, 0.3],
            mode="lines",
            name="perfect",
            line={"dash": "dot", "color": "grey"},
        )
    )
    for name, p in series.items():
        edges = np.unique(np.quantile(p, np.linspace(0, 1, 11)))
        bins = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
        xs = [float(p[bins == b].mean()) for b in np.unique(bins)]
        ys = [float(y[bins == b].mean()) for b in np.unique(bins)]
        figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=name))
    figure.update_layout(
        title="Reliability (deciles of predicted risk)",
        xaxis_title="predicted P(fail)",
        yaxis_title="observed failure rate",
        height=420,
    )
    text: str = figure.to_html(
        full_html=False, include_plotlyjs=True, config={"displaylogo": False}
    )
    return text


def evaluate(model: Any, history: Any, first: date | None, last: date | None) -> dict[str, Any]:
    """The model and the two baselines on ``history``'s days in ``[first, last]``.

    Features use the model's state plus the history's known days after its
    training window, each attempt only the days strictly before its own.
    """
    import numpy as np
    import pandas as pd

    from doorstep.learn.model import metrics

    labelled = history[history["failed"] >= 0]
    start = pd.Timestamp(first) if first else model.until + pd.Timedelta(days=1)
    window = labelled[labelled["date"] >= start]
    if last is not None:
        window = window[window["date"] <= pd.Timestamp(last)]
    if window.empty:
        raise InputError(
            f"no labelled attempt from {start.date()} to {last or 'the end'}",
            hint="Choose --from/--to inside the history (default: after the training window).",
        )
    matrix = model.matrix(window, history)
    y = window["failed"].to_numpy(dtype=int)
    series = {
        "model": model.predict(matrix),
        "customer's past rate": matrix["c_rate"].to_numpy(),
        "overall rate": np.full(len(y), model.prior),
    }
    return {
        "from": window["date"].min().date().isoformat(),
        "to": window["date"].max().date().isoformat(),
        "rows": len(y),
        "failures": int(y.sum()),
        "metrics": {name: metrics(y, p) for name, p in series.items()},
        "y": y,
        "series": series,
    }


@risk_app.command("report")
def report_command(
    history: Annotated[Path, typer.Argument(help="A labelled history to evaluate on.")],
    model_path: ModelOption,
    first: Annotated[
        str | None, typer.Option("--from", help="First day (default: after training).")
    ] = None,
    last: Annotated[str | None, typer.Option("--to", help="Last day, included.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write an HTML report here.")] = None,
    fmt: FormatOption = "auto",
) -> None:
    """AUC, Brier score, log loss and a reliability diagram, against two baselines."""
    from rich.table import Table

    from doorstep.learn.history import read_history
    from doorstep.learn.model import load

    start, end = _day(first, "--from"), _day(last, "--to")
    try:
        model = load(model_path)
        frame = read_history(history, fmt)
        result = evaluate(model, frame, start, end)
    except DoorstepError as error:
        fail(error)
    table = Table(
        title=f"Failure risk, {result['from']} to {result['to']} "
        f"({result['rows']:,} attempts, {result['failures']:,} failed)"
    )
    for heading in ("predictor", "AUC", "Brier", "log loss", "mean p"):
        table.add_column(heading, justify="left" if heading == "predictor" else "right")
    for name, m in result["metrics"].items():
        table.add_row(
            name,
            f"{m['auc']:.3f}",
            f"{m['brier']:.4f}",
            f"{m['log_loss']:.4f}",
            f"{m['mean_predicted']:.4f}",
        )
    stdout.print(table)
    if out is not None:
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{m['auc']:.3f}</td><td>{m['brier']:.4f}</td>"
            f"<td>{m['log_loss']:.4f}</td><td>{m['mean_predicted']:.4f}</td></tr>"
            for name, m in result["metrics"].items()
        )
        meta = html.escape(json.dumps(model.metadata["train_window"]))
        page = (
            "<!doctype html><html><head><meta charset='utf-8'><title>Failure risk report</title>"
            "</head><body style='font-family:sans-serif;max-width:900px;margin:auto'>"
            f"<h1>Failure risk, {result['from']} to {result['to']}</h1>"
            f"<p>{result['rows']:,} first attempts, {result['failures']:,} failed. "
            f"Model trained on {meta}.</p>"
            "<table border='1' cellpadding='4' style='border-collapse:collapse'><tr>"
            "<th>predictor</th><th>AUC</th><th>Brier</th><th>log loss</th><th>mean p</th></tr>"
            f"{rows}</table>{_reliability(result['y'], result['series'])}</body></html>"
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
        stdout.print(f"Report: {out}.")
