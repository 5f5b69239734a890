"""The model: calibrated on a known population, saved and loaded, a FailureRisk."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from tests.learn.synthetic import population

from doorstep.errors import InputError
from doorstep.learn.history import read_history
from doorstep.learn.model import TrainedRisk, load, save, train
from doorstep.learn.risk import FailureRisk, RiskAnswerError, RiskQuery, ask


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """A model of the synthetic population's first 60 days, and its history."""
    path = tmp_path_factory.mktemp("risk") / "h.csv"
    population(customers=200, days=60).to_csv(path, index=False)
    history = read_history(path)
    return train(history), history, path


def test_probabilities_match_the_truth_per_decile(trained: tuple) -> None:
    """On later days, each decile's mean predicted P(fail) is within 0.05 of its true mean."""
    model = trained[0]
    later = population(customers=200, days=80, seed=1)
    later = later[later["attempted_at"] >= "2024-03-01"]
    path = Path(str(trained[2]).replace("h.csv", "later.csv"))
    later.to_csv(path, index=False)
    frame = read_history(path)
    p = model.predict(model.matrix(frame, frame))
    truth = frame["true_p"].astype(float).to_numpy()
    order = np.argsort(p, kind="stable")
    for chunk in np.array_split(order, 10):
        assert abs(p[chunk].mean() - truth[chunk].mean()) < 0.05


def test_the_model_ranks_by_hour_and_customer(trained: tuple) -> None:
    """Evening is riskier than morning for the same customer."""
    risk = TrainedRisk(trained[0])
    morning = risk.p_fail("c001", "z1", datetime(2024, 3, 1, 8))
    evening = risk.p_fail("c001", "z1", datetime(2024, 3, 1, 19))
    assert evening > morning + 0.1


def test_trained_risk_is_a_failure_risk_and_survives_saving(trained: tuple, tmp_path: Path) -> None:
    """Save, load: the same answers; the metadata names the window and the features."""
    model = trained[0]
    path = tmp_path / "m.joblib"
    save(model, path)
    again: FailureRisk = TrainedRisk.load(path)
    first: FailureRisk = TrainedRisk(model)
    when = datetime(2024, 3, 2, 16)
    assert again.p_fail("c002", "z2", when, 500, 1000) == pytest.approx(
        first.p_fail("c002", "z2", when, 500, 1000)
    )
    assert 0.0 < again.p_fail(None, None, when) < 1.0
    meta = (tmp_path / "m.joblib.json").read_text(encoding="utf-8")
    assert '"train_window"' in meta and '"c_rate"' in meta


def test_the_fast_path_agrees_with_the_table_path(trained: tuple) -> None:
    """After the window, p_fail (snapshot) equals the batch features (merge_asof)."""
    model, history, _ = trained
    risk = TrainedRisk(model)
    when = datetime(2024, 3, 5, 12)
    frame = history.iloc[:1].copy()
    frame["customer_id"], frame["area"] = "c010", "z0"
    frame["date"], frame["hour"] = np.datetime64("2024-03-05"), 12
    frame["weight"], frame["volume"] = 700.0, 1000.0
    batch = float(model.predict(model.matrix(frame))[0])
    assert risk.p_fail("c010", "z0", when, 700, 1000) == pytest.approx(batch)


def test_one_batch_gives_the_answers_of_one_question_at_a_time(trained: tuple) -> None:
    """p_fail_many (inside and after the window, repeated questions) equals p_fail one by one."""
    model, history, _ = trained
    inside = history["date"].min() + np.timedelta64(20, "D")
    queries = [
        RiskQuery("c001", "z1", datetime(2024, 3, 1, 8)),
        RiskQuery("c002", "z2", datetime(2024, 3, 2, 16), 500, 1000),
        RiskQuery("c001", "z1", datetime(2024, 3, 1, 8, 40)),
        RiskQuery(None, None, datetime(2024, 3, 3, 12)),
        RiskQuery("c003", "z1", inside.to_pydatetime().replace(hour=10)),
    ]
    batch = TrainedRisk(model).p_fail_many(queries)
    single = [TrainedRisk(model).p_fail(*q) for q in queries]
    assert batch == pytest.approx(single)
    assert batch[0] == batch[2]  # the same hour: the same answer
    assert ask(TrainedRisk(model), queries) == pytest.approx(single)


def test_an_answer_outside_zero_one_is_refused_with_its_position() -> None:
    """ask() names the broken answer's query; a source without a batch is asked one by one."""

    class Broken:
        def p_fail(self, customer_id, area, when, weight_g=0, volume_ml=0):  # type: ignore[no-untyped-def]
            return 1.5 if customer_id == "bad" else 0.1

    queries = [
        RiskQuery("ok", None, datetime(2024, 3, 1, 8)),
        RiskQuery("bad", None, datetime(2024, 3, 1, 9)),
    ]
    with pytest.raises(RiskAnswerError, match="'bad'") as caught:
        ask(Broken(), queries)
    assert caught.value.index == 1
    assert ask(Broken(), queries[:1]) == [0.1]


def test_explanations_name_feature_groups(trained: tuple) -> None:
    """Each reason is a feature group with a positive contribution."""
    model, history, _ = trained
    reasons = model.explain(model.matrix(history.tail(50)))
    flat = [r for row in reasons for r in row]
    assert flat and all(delta > 0 for _, delta in flat)
    assert {name for name, _ in flat} <= {
        "customer history",
        "customer at this time",
        "area",
        "weekday and time",
        "parcel",
    }


def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    """Load names the problem instead of crashing."""
    path = tmp_path / "m.joblib"
    path.write_text("hello", encoding="utf-8")
    with pytest.raises(InputError, match="not a Doorstep risk model"):
        load(path)
