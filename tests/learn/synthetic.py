"""A synthetic attempt history whose true failure probabilities are known."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

BAND_RISK = {8: 0.03, 12: 0.08, 16: 0.2, 19: 0.45}
"""True P(fail) by hour for an ordinary customer (presence falls through the day)."""


def population(
    customers: int = 150, days: int = 40, seed: int = 1, start: date = date(2024, 1, 1)
) -> pd.DataFrame:
    """Generic-format rows and, in ``true_p``, each row's true failure probability.

    Half the customers are "away" (their risk doubled, capped at 0.9): a model
    must learn it from their own past.
    """
    rng = np.random.default_rng(seed)
    away = rng.random(customers) < 0.5
    rows = []
    for d in range(days):
        day = start + timedelta(days=d)
        for c in rng.choice(customers, size=customers // 2, replace=False):
            hour = int(rng.choice(list(BAND_RISK)))
            p = min(BAND_RISK[hour] * (2.0 if away[c] else 1.0), 0.9)
            failed = rng.random() < p
            rows.append(
                {
                    "customer_id": f"c{c:03d}",
                    "area": f"z{c % 5}",
                    "attempted_at": f"{day.isoformat()}T{hour:02d}:00",
                    "outcome": "failed" if failed else "delivered",
                    "failure_reason": "not_home" if failed else "",
                    "weight": round(float(rng.uniform(100, 5000)), 1),
                    "volume": 1000,
                    "true_p": p,
                }
            )
    return pd.DataFrame(rows)
