"""Home patterns: customers pooled by when they are out, so a short history says more.

A customer with twenty past attempts has two or three in each two-hour band of
the day: too few to tell, band by band, when they are home. But customers fall
into a few patterns (out in the daytime, out in the mornings, out in the
evenings, usually home...), and a handful of failures says which pattern a
customer follows. :class:`HomePatterns` is a latent-class model fitted by
expectation-maximisation on every customer's attempts and failures per band:
``K`` patterns, each a P(fail) per band, and the share of customers in each.
A customer's chance of failing in a band is the patterns' rates weighted by
how well each pattern explains that customer's own history (a customer with no
history gets the population's mixture). The number of patterns, from 1 (no pattern at all) up to
:data:`MAX_PATTERNS`, is the one that best predicts half of each customer's
days from the other half.

The model is population-level, like the overall failure rate: it is fitted
once on the training window, and each attempt's rate is computed from that
customer's attempts strictly before the attempt's date
(:func:`doorstep.learn.features.raw_history`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

BANDS = 12
"""Two-hour bands of a day (band = hour // 2)."""
MAX_PATTERNS = 6
"""Most patterns tried."""
PRIOR_ATTEMPTS = 10.0
"""Each pattern's rate in a band starts from this many attempts at the band's overall rate."""
RESTARTS = 4
"""Random starts per number of patterns (the best likelihood is kept)."""
ITERATIONS = 60
"""EM iterations per start, at most."""
_EPS = 1e-9

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class HomePatterns:
    """Patterns of failure by band, and the share of customers following each.

    Attributes
    ----------
    rates
        ``K x BANDS``: P(fail) of a customer of each pattern in each band.
    shares
        ``K``: the share of customers following each pattern.
    """

    rates: FloatArray
    shares: FloatArray

    @property
    def count(self) -> int:
        """The number of patterns."""
        return len(self.shares)

    def joint(self, attempts: FloatArray, failures: FloatArray) -> FloatArray:
        """The log of P(history, pattern), per customer (rows) and pattern (columns).

        Parameters
        ----------
        attempts, failures
            ``m x BANDS`` counts per customer and band.

        Returns
        -------
        numpy.ndarray
            ``m x K`` log-probabilities.
        """
        log_rate = np.log(np.clip(self.rates, _EPS, 1 - _EPS))
        log_miss = np.log(np.clip(1 - self.rates, _EPS, 1))
        out: FloatArray = failures @ log_rate.T + (attempts - failures) @ log_miss.T
        out += np.log(np.clip(self.shares, _EPS, 1))[None, :]
        return out

    def posterior(self, attempts: FloatArray, failures: FloatArray) -> FloatArray:
        """Each customer's chance of following each pattern, given their history.

        Parameters
        ----------
        attempts, failures
            ``m x BANDS`` counts per customer and band.

        Returns
        -------
        numpy.ndarray
            ``m x K`` rows summing to 1.
        """
        loglik = self.joint(attempts, failures)
        loglik -= loglik.max(axis=1, keepdims=True)
        weights = np.exp(loglik)
        out: FloatArray = weights / weights.sum(axis=1, keepdims=True)
        return out

    def rate(self, attempts: FloatArray, failures: FloatArray, band: npt.ArrayLike) -> FloatArray:
        """P(fail) in ``band`` of each customer, from their counts per band.

        Parameters
        ----------
        attempts, failures
            ``m x BANDS`` counts per customer and band (zeros: no history).
        band
            ``m`` band numbers (hour // 2).

        Returns
        -------
        numpy.ndarray
            ``m`` probabilities.
        """
        bands = np.clip(np.asarray(band, dtype=np.int64), 0, BANDS - 1)
        weights = self.posterior(attempts, failures)
        out: FloatArray = np.einsum("mk,km->m", weights, self.rates[:, bands])
        return out


def counts_per_band(known: pd.DataFrame) -> tuple[FloatArray, FloatArray]:
    """Every customer's attempts and failures per band over ``known``.

    Parameters
    ----------
    known
        :func:`doorstep.learn.features.known_table` rows.

    Returns
    -------
    tuple of numpy.ndarray
        ``attempts`` and ``failures``, ``customers x BANDS``.
    """
    if known.empty:
        empty = np.zeros((0, BANDS))
        return empty, empty.copy()
    totals = known.groupby(["customer_id", "band"], observed=True)[["n", "f"]].sum()
    wide = totals.unstack("band", fill_value=0)
    columns = range(BANDS)
    n = wide["n"].reindex(columns=columns, fill_value=0).to_numpy(dtype=np.float64)
    f = wide["f"].reindex(columns=columns, fill_value=0).to_numpy(dtype=np.float64)
    return n, f


def fit_patterns(known: pd.DataFrame, *, seed: int = 0, most: int = MAX_PATTERNS) -> HomePatterns:
    """The home patterns of the customers in ``known``, their number chosen by held-out fit.

    Each customer's days are split in two (alternate days): for each number of
    patterns, the model fitted on one half predicts the other half's outcomes
    from that customer's first half, and the other way round; the number whose
    predictions have the highest log-likelihood is fitted again on the whole.

    Parameters
    ----------
    known
        :func:`doorstep.learn.features.known_table` rows (labelled attempts).
    seed
        Seed of the random starts (the fit is deterministic for a seed).
    most
        The largest number of patterns tried.

    Returns
    -------
    HomePatterns
        One pattern (the bands' overall rates) when the history shows no more.
    """
    attempts, failures = counts_per_band(known)
    if len(attempts) < 2:
        return _fit(attempts, failures, 1, np.random.default_rng(seed))
    order = known.sort_values(["customer_id", "date"], kind="stable")
    half = order.groupby("customer_id", observed=True).cumcount().to_numpy() % 2 == 0
    first, second = counts_per_band(order[half]), counts_per_band(order[~half])
    first = _aligned(order, order[half], first)
    second = _aligned(order, order[~half], second)
    scores = []
    for k in range(1, min(most, len(attempts)) + 1):
        score = 0.0
        for (fit_n, fit_f), (test_n, test_f) in ((first, second), (second, first)):
            fitted = _fit(fit_n, fit_f, k, np.random.default_rng(seed))
            p = np.clip(fitted.posterior(fit_n, fit_f) @ fitted.rates, _EPS, 1 - _EPS)
            score += float((test_f * np.log(p) + (test_n - test_f) * np.log(1 - p)).sum())
        scores.append(score)
    best = int(np.argmax(scores)) + 1
    return _fit(attempts, failures, best, np.random.default_rng(seed))


def _aligned(
    whole: pd.DataFrame, part: pd.DataFrame, counts: tuple[FloatArray, FloatArray]
) -> tuple[FloatArray, FloatArray]:
    """``part``'s counts per band on the rows of ``whole``'s customers (zeros where absent)."""
    customers = sorted(whole["customer_id"].unique())
    present = sorted(part["customer_id"].unique())
    where = {c: i for i, c in enumerate(customers)}
    n = np.zeros((len(customers), BANDS))
    f = np.zeros((len(customers), BANDS))
    rows = [where[c] for c in present]
    n[rows], f[rows] = counts
    return n, f


def _fit(
    attempts: FloatArray, failures: FloatArray, k: int, rng: np.random.Generator
) -> HomePatterns:
    """The best of :data:`RESTARTS` EM fits of ``k`` patterns (one pattern: the bands' rates)."""
    seen = attempts.sum(axis=0)
    overall = failures.sum() / max(attempts.sum(), 1.0)
    band_rate = np.where(seen > 0, failures.sum(axis=0) / np.maximum(seen, 1.0), overall)
    if k == 1:
        return HomePatterns(band_rate[None, :].copy(), np.ones(1))
    return max(
        (_em(attempts, failures, band_rate, k, rng) for _ in range(RESTARTS)),
        key=lambda p: _loglik(p, attempts, failures),
    )


def _em(
    attempts: FloatArray,
    failures: FloatArray,
    band_rate: FloatArray,
    k: int,
    rng: np.random.Generator,
) -> HomePatterns:
    """One EM fit of ``k`` patterns from a random split of the customers."""
    weights = rng.dirichlet(np.ones(k), size=len(attempts))
    patterns = _m_step(weights, attempts, failures, band_rate)
    previous = -np.inf
    for _ in range(ITERATIONS):
        weights = patterns.posterior(attempts, failures)
        patterns = _m_step(weights, attempts, failures, band_rate)
        current = _loglik(patterns, attempts, failures)
        if current - previous < 1e-6 * max(abs(current), 1.0):
            break
        previous = current
    return patterns


def _m_step(
    weights: FloatArray, attempts: FloatArray, failures: FloatArray, band_rate: FloatArray
) -> HomePatterns:
    """Rates and shares given each customer's pattern weights (rates shrunk to the bands')."""
    seen = weights.T @ attempts
    failed = weights.T @ failures
    rates = (failed + PRIOR_ATTEMPTS * band_rate[None, :]) / (seen + PRIOR_ATTEMPTS)
    shares = (weights.sum(axis=0) + 1e-3) / (len(weights) + 1e-3 * weights.shape[1])
    return HomePatterns(rates, shares)


def _loglik(patterns: HomePatterns, attempts: FloatArray, failures: FloatArray) -> float:
    """Log-likelihood of the customers' histories under ``patterns``."""
    loglik = patterns.joint(attempts, failures)
    top = loglik.max(axis=1, keepdims=True)
    return float((top[:, 0] + np.log(np.exp(loglik - top).sum(axis=1))).sum())


@dataclass(frozen=True)
class PatternRisk:
    """A :class:`~doorstep.learn.risk.FailureRisk` from home patterns alone.

    P(fail) of a customer at a time is :meth:`HomePatterns.rate` of the band,
    from the customer's own attempts per band (the population's mixture for a
    customer never seen). Area, weekday and parcel are not used: the trained
    model (:class:`doorstep.learn.model.TrainedRisk`) uses them.
    """

    patterns: HomePatterns
    attempts: dict[str, FloatArray]
    failures: dict[str, FloatArray]

    @classmethod
    def fit(cls, known: pd.DataFrame, *, seed: int = 0) -> PatternRisk:
        """Fit the patterns on ``known`` and keep each customer's counts per band.

        Parameters
        ----------
        known
            :func:`doorstep.learn.features.known_table` rows.
        seed
            Seed of the fit.

        Returns
        -------
        PatternRisk
            The model.
        """
        attempts, failures = counts_per_band(known)
        customers = sorted(known["customer_id"].astype(str).unique())
        return cls(
            fit_patterns(known, seed=seed),
            dict(zip(customers, attempts, strict=True)),
            dict(zip(customers, failures, strict=True)),
        )

    def p_fail(
        self,
        customer_id: str | None,
        area: str | None,
        when: datetime,
        weight_g: int = 0,
        volume_ml: int = 0,
    ) -> float:
        """P(fail) of ``customer_id``'s first attempt at ``when`` (local time)."""
        none = np.zeros(BANDS)
        key = str(customer_id)
        n = self.attempts.get(key, none)[None, :]
        f = self.failures.get(key, none)[None, :]
        return float(self.patterns.rate(n, f, [when.hour // 2])[0])
