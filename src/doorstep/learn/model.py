"""The failure-risk model: P(first attempt fails), trained, calibrated, explained, saved.

A :class:`~sklearn.ensemble.HistGradientBoostingClassifier` learns from the
earlier part of the training window; a calibration map (a logistic regression
on the score's log-odds and the log-odds of the customer's home-pattern rate,
:mod:`doorstep.learn.patterns`: Platt scaling with a second input, a stacking
of the two) is fitted on the later part, days the boosting did not learn from.
Where the patterns add nothing (the Changshu data: few attempts per customer)
their weight stays small; where customers' hours matter and histories are
short (twenty attempts each), they carry what the boosting cannot learn.
The classifier is then refitted on the whole window with the same settings
(on histories of :data:`REFIT_MIN_ROWS` attempts or more) and its scores go
through that map.
The artefact (:func:`save`, :func:`load`) keeps the classifier, the
calibrator, the history state (daily totals per customer,
area and band up to the end of the window: what scoring needs) and JSON
metadata (version, windows, features, metrics), written beside it as
``MODEL.json``. :class:`TrainedRisk` answers the
:class:`doorstep.learn.risk.FailureRisk` protocol from it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from doorstep.errors import InputError
from doorstep.learn.features import (
    BOOSTED,
    CATEGORICAL,
    EXPLAIN_GROUPS,
    FEATURES,
    Snapshot,
    area_codes,
    derive,
    features,
    known_table,
)
from doorstep.learn.patterns import HomePatterns, fit_patterns
from doorstep.learn.risk import RiskQuery

ARTEFACT = "doorstep-risk-model"
FORMAT_VERSION = 2
"""Bumped whenever the artefact's content changes; :func:`load` refuses other versions."""

PARAMS: dict[str, Any] = {
    "max_iter": 150,
    "learning_rate": 0.05,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 100,
    "l2_regularization": 1.0,
    "early_stopping": False,
    "random_state": 0,
}
"""The gradient boosting's settings (measured on the Changshu split: docs/risk.md)."""

REFIT_MIN_ROWS = 20_000
"""Attempts from which the classifier is learnt again on the whole window by default.

On synthetic populations with known probabilities (the calibration test's
generator), the worst decile's error of the refitted model was 0.076 at 6,000
attempts (0.040 without refit), 0.027 at 30,000 (0.061 without) and 0.029 at
60,000 (0.024 without); on the Changshu split (68,192 attempts) the refit
lifts May-June AUC from 0.791 to 0.802 with mean predicted 0.044 against 0.046
observed."""

CALIBRATION_SHARE = 0.2
"""The later share of the training window's days kept to calibrate on."""


Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


SMALL_BATCH = 1000
"""Rows below which predictions run on one thread."""


@dataclass
class RiskModel:
    """A trained failure-risk model and the history it scores with."""

    classifier: Any
    calibrator: Any
    known: pd.DataFrame
    prior: float
    codes: dict[str, int]
    reference: dict[str, float]
    metadata: dict[str, Any] = field(default_factory=dict)
    patterns: HomePatterns | None = None
    """The customers' home patterns (``cp_rate``), fitted on the training window."""

    @property
    def until(self) -> pd.Timestamp:
        """The last day of the training window."""
        return pd.Timestamp(self.metadata["train_window"]["to"])

    def predict(self, matrix: pd.DataFrame) -> np.ndarray:
        """Calibrated P(fail) for rows of :data:`FEATURES`."""
        from threadpoolctl import threadpool_limits

        # A few rows at a time (a planner asks order by order): OpenMP's threads
        # cost more than they save (50-400 ms a call on two busy cores, 15 ms on one).
        with threadpool_limits(1 if len(matrix) < SMALL_BATCH else None):
            scores = self.classifier.predict_proba(matrix[list(BOOSTED)])[:, 1]
        stacked = _stack(scores, matrix, self.prior)
        calibrated: np.ndarray = np.asarray(self.calibrator.predict_proba(stacked)[:, 1])
        return calibrated

    def state_for(self, history: pd.DataFrame | None = None) -> pd.DataFrame:
        """The known history: the model's own, plus ``history``'s labelled days after its window."""
        if history is None:
            return self.known
        later = history[(history["date"] > self.until) & (history["failed"] >= 0)]
        if later.empty:
            return self.known
        return pd.concat([self.known, known_table(later)], ignore_index=True).sort_values(
            "date", kind="stable"
        )

    def matrix(self, attempts: pd.DataFrame, history: pd.DataFrame | None = None) -> pd.DataFrame:
        """Features of ``attempts``, from the model's state and ``history``'s later days."""
        return features(attempts, self.state_for(history), self.prior, self.codes, self.patterns)

    def explain(self, matrix: pd.DataFrame, top: int = 3) -> list[list[tuple[str, float]]]:
        """The features that raise each row's risk most.

        Each group of :data:`~doorstep.learn.features.EXPLAIN_GROUPS` is in turn
        replaced by its training reference (median, or most common value) and
        the row re-scored: the drop in P(fail) is that group's contribution.
        One batch prediction per group, whatever the number of rows.

        Parameters
        ----------
        matrix
            Rows of :data:`FEATURES`.
        top
            How many reasons per row (only those that raise the risk).

        Returns
        -------
        list of list of (str, float)
            Per row, (group, contribution to P(fail)), largest first.
        """
        base = self.predict(matrix)
        names = list(EXPLAIN_GROUPS)
        deltas = np.zeros((len(matrix), len(names)))
        for j, name in enumerate(names):
            changed = matrix.copy()
            for column in EXPLAIN_GROUPS[name]:
                changed[column] = self.reference[column]
            deltas[:, j] = base - self.predict(changed)
        out: list[list[tuple[str, float]]] = []
        for row in deltas:
            order = np.argsort(-row, kind="stable")[:top]
            out.append([(names[k], float(row[k])) for k in order if row[k] > 0.0005])
        return out


def _logit(scores: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(scores, dtype=float), 1e-6, 1 - 1e-6)
    logits: np.ndarray = np.log(p / (1 - p)).reshape(-1, 1)
    return logits


def _stack(scores: np.ndarray, matrix: pd.DataFrame, prior: float) -> np.ndarray:
    """The calibration's inputs: the boosting's log-odds and the home-pattern rate's."""
    pattern = matrix["cp_rate"].fillna(prior).to_numpy(dtype=float)
    return np.hstack([_logit(scores), _logit(pattern)])


def _window(frame: pd.DataFrame) -> dict[str, str]:
    return {
        "from": frame["date"].min().date().isoformat(),
        "to": frame["date"].max().date().isoformat(),
    }


def metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """AUC, Brier score, log loss and the rates of ``p`` against outcomes ``y``.

    Parameters
    ----------
    y
        1 for a failed first attempt, 0 for delivered.
    p
        Predicted P(fail).

    Returns
    -------
    dict
        ``auc`` (None-like NaN when one class only), ``brier``, ``log_loss``,
        ``rows``, ``observed_rate``, ``mean_predicted``.
    """
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    y = np.asarray(y, dtype=int)
    both = 0 < y.sum() < len(y)
    return {
        "auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "rows": len(y),
        "observed_rate": float(y.mean()) if len(y) else float("nan"),
        "mean_predicted": float(p.mean()) if len(p) else float("nan"),
    }


def train(
    history: pd.DataFrame,
    train_until: date | None = None,
    *,
    params: dict[str, Any] | None = None,
    refit: bool | None = None,
    progress: Progress = _quiet,
) -> RiskModel:
    """Train and calibrate the model on a canonical history.

    Parameters
    ----------
    history
        Labelled attempts (:mod:`doorstep.learn.history`).
    train_until
        Last day to learn from (included); later rows are ignored. Default:
        the whole history.
    params
        HistGradientBoosting settings (default :data:`PARAMS`).
    refit
        After calibrating, learn again on the whole window and put its scores
        through the same map (more data, but the map was fitted on the first
        learner's scores). None (default): refit when the window holds at
        least :data:`REFIT_MIN_ROWS` attempts, where the refitted scores stay
        calibrated (measured in docs/risk.md).
    progress
        Called with a short message at each stage.

    Returns
    -------
    RiskModel
        The model, its state and metadata (the metrics are on the calibration
        slice, the later days of the window).

    Raises
    ------
    InputError
        No rows in the window, too few days to keep a calibration slice, or
        a slice without both outcomes.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    history = history[history["failed"] >= 0]
    if train_until is not None:
        history = history[history["date"] <= pd.Timestamp(train_until)]
    if history.empty:
        raise InputError(
            f"no labelled attempt up to {train_until}", hint="Check --train-until and the history."
        )
    progress(f"features of {len(history):,} attempts")
    known = known_table(history)
    prior = float(history["failed"].mean())
    codes = area_codes(known)
    progress("home patterns of the customers")
    patterns = fit_patterns(known)
    matrix = features(history, known, prior, codes, patterns)
    y = history["failed"].to_numpy(dtype=int)
    days = np.sort(history["date"].unique())
    if len(days) < 5:
        raise InputError(
            f"the history spans {len(days)} days",
            hint="Give at least 5 days: the later ones calibrate the model.",
        )
    cut = days[int(len(days) * (1 - CALIBRATION_SHARE))]
    early = (history["date"] < cut).to_numpy()
    late = ~early
    for name, part in (("learning", early), ("calibration", late)):
        if not (0 < y[part].sum() < part.sum()):
            raise InputError(
                f"the {name} part of the window ({int(part.sum())} attempts) lacks failures "
                "or deliveries",
                hint="Give a longer history, with failed and delivered attempts throughout.",
            )
    settings = {**PARAMS, **(params or {})}
    categorical = [f in CATEGORICAL for f in BOOSTED]
    boosted = matrix[list(BOOSTED)]
    learner = HistGradientBoostingClassifier(categorical_features=categorical, **settings)
    progress(f"learning on {int(early.sum()):,} attempts before {pd.Timestamp(cut).date()}")
    learner.fit(boosted[early], y[early])
    method = "logistic on the score's and the home-pattern rate's log-odds (stacking)"
    progress(f"calibrating on {int(late.sum()):,} later attempts")
    late_scores = learner.predict_proba(boosted[late])[:, 1]
    late_stack = _stack(late_scores, matrix[late], prior)
    calibrator = LogisticRegression(C=1e6).fit(late_stack, y[late])
    if refit is None:
        refit = len(history) >= REFIT_MIN_ROWS
    if refit:
        progress(f"learning again on all {len(history):,} attempts")
        classifier = HistGradientBoostingClassifier(categorical_features=categorical, **settings)
        classifier.fit(boosted, y)
    else:
        classifier = learner
    reference = {
        f: float(matrix[f].mode().iloc[0]) if f in ("area_code", "weekday", "hour") else 0.0
        for f in FEATURES
    }
    for f in FEATURES:
        if f not in ("area_code", "weekday", "hour"):
            median = matrix[f].median()
            reference[f] = float(median) if pd.notna(median) else float("nan")
    model = RiskModel(classifier, calibrator, known, prior, codes, reference, patterns=patterns)
    calibrated = np.asarray(calibrator.predict_proba(late_stack)[:, 1])
    from doorstep import __version__

    model.metadata = {
        "artefact": ARTEFACT,
        "format_version": FORMAT_VERSION,
        "doorstep_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "train_window": _window(history),
        "learning_window": _window(history[early]),
        "calibration_window": _window(history[late]),
        "calibration": method,
        "refit_on_whole_window": refit,
        "rows": len(history),
        "failures": int(y.sum()),
        "customers": int(history["customer_id"].nunique()),
        "areas": len(codes),
        "home_patterns": patterns.count,
        "features": list(FEATURES),
        "calibration_weights": {
            "boosting": float(calibrator.coef_[0][0]),
            "home_patterns": float(calibrator.coef_[0][1]),
        },
        "params": settings,
        "metrics_calibration_slice": metrics(y[late], calibrated),
        "metrics_calibration_slice_uncalibrated": metrics(y[late], late_scores),
    }
    return model


def save(model: RiskModel, path: Path) -> Path:
    """Write the artefact to ``path`` (joblib) and its metadata to ``path`` + ``.json``.

    Returns
    -------
    pathlib.Path
        The metadata file.
    """
    import joblib

    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(
        {
            "artefact": ARTEFACT,
            "format_version": FORMAT_VERSION,
            "classifier": model.classifier,
            "calibrator": model.calibrator,
            "known": model.known,
            "prior": model.prior,
            "codes": model.codes,
            "reference": model.reference,
            "metadata": model.metadata,
            "patterns": model.patterns,
        },
        path,
        compress=3,
    )
    sidecar = path.with_name(path.name + ".json")
    sidecar.write_text(json.dumps(model.metadata, indent=2, default=str) + "\n", encoding="utf-8")
    return sidecar


def load(path: Path) -> RiskModel:
    """Read an artefact written by :func:`save` (only load files you trust: it is a pickle).

    Raises
    ------
    InputError
        No such file, not a Doorstep risk model, or another format version.
    """
    import joblib

    if not path.is_file():
        raise InputError(f"{path}: no such model", hint="Train one with doorstep risk train.")
    try:
        content = joblib.load(path)
    except Exception as exc:  # any unpickling failure means the same to the user
        raise InputError(f"{path}: not a Doorstep risk model ({type(exc).__name__})") from exc
    if not isinstance(content, dict) or content.get("artefact") != ARTEFACT:
        raise InputError(f"{path}: not a Doorstep risk model")
    if content.get("format_version") != FORMAT_VERSION:
        raise InputError(
            f"{path}: model format {content.get('format_version')}, this Doorstep reads "
            f"{FORMAT_VERSION}",
            hint="Train the model again with this version.",
        )
    return RiskModel(
        content["classifier"],
        content["calibrator"],
        content["known"],
        content["prior"],
        content["codes"],
        content["reference"],
        content["metadata"],
        content["patterns"],
    )


class TrainedRisk:
    """A trained model behind the :class:`doorstep.learn.risk.FailureRisk` protocol.

    The customer's and area's history is the model's state (up to the end of
    its training window). Answers are cached per customer, area, day, hour and
    parcel, so a planner asking every band of every order pays once each.
    """

    def __init__(self, model: RiskModel) -> None:
        self.model = model
        self.snapshot = Snapshot.of(model.known)
        self._cache: dict[_Key, float] = {}

    @classmethod
    def load(cls, path: Path) -> TrainedRisk:
        """The model saved at ``path``."""
        return cls(load(path))

    def p_fail(
        self,
        customer_id: str | None,
        area: str | None,
        when: datetime,
        weight_g: int = 0,
        volume_ml: int = 0,
    ) -> float:
        """P(first attempt fails) at ``when`` (local), in the history's weight and volume units."""
        return self.p_fail_many([RiskQuery(customer_id, area, when, weight_g, volume_ml)])[0]

    def p_fail_many(self, queries: Sequence[RiskQuery]) -> list[float]:
        """P(first attempt fails) per query, the ones not cached predicted in one batch.

        Parameters
        ----------
        queries
            The questions (local times, aware or naive).

        Returns
        -------
        list of float
            One calibrated probability per query, in order.
        """
        keys = [_key(q) for q in queries]
        missing = list(dict.fromkeys(k for k in keys if k not in self._cache))
        if missing:
            until = self.snapshot.until
            old = [k for k in missing if until is not None and k.day <= until]
            new = [k for k in missing if until is None or k.day > until]
            frames = []
            if old:
                attempt = pd.DataFrame(
                    {
                        "customer_id": [k.customer for k in old],
                        "area": [k.area for k in old],
                        "date": [k.day for k in old],
                        "hour": [k.hour.hour for k in old],
                        "weight": [float(k.weight) for k in old],
                        "volume": [float(k.volume) for k in old],
                    }
                )
                model = self.model
                frames.append(
                    features(attempt, model.known, model.prior, model.codes, model.patterns)
                )
            if new:
                raw = self.snapshot.raw_many(
                    [(k.customer, k.area, k.hour, k.weight, k.volume) for k in new]
                )
                frames.append(derive(raw, self.model.prior, self.model.codes, self.model.patterns))
            matrix = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
            values = self.model.predict(matrix.reset_index(drop=True))
            for key, value in zip([*old, *new], values, strict=True):
                self._cache[key] = float(value)
        return [self._cache[k] for k in keys]


class _Key(NamedTuple):
    """What an answer depends on: customer, area, the hour (its first moment), parcel."""

    customer: str
    area: str
    hour: datetime
    weight: int
    volume: int

    @property
    def day(self) -> pd.Timestamp:
        """The hour's day, as the history's dates are kept."""
        return pd.Timestamp(self.hour).normalize()


def _key(query: RiskQuery) -> _Key:
    naive = query.when.replace(tzinfo=None)
    hour = naive.replace(minute=0, second=0, microsecond=0)
    return _Key(query.customer_id or "", query.area or "", hour, query.weight_g, query.volume_ml)
