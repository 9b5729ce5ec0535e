"""Attacks and reference models: leaky models leak more, thresholds ignore true labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("skops")

import skops.io as sio
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from nemecys.errors import InputError
from nemecys.mlaudit import reference
from nemecys.mlaudit.attacks import (
    AttackParams,
    choose_prob_clip,
    membership_attack,
    row_scores,
)
from nemecys.mlaudit.audit import AuditConfig, run_audit


def _noisy_data(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    X, y = make_classification(
        n_samples=n, n_features=8, n_informative=4, flip_y=0.2, random_state=seed
    )
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(8)]), y


def _deep_forest() -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=30, min_samples_leaf=1, random_state=0)


def _strong_l2() -> LogisticRegression:
    return LogisticRegression(C=0.01)


def test_overfit_model_leaks_more_at_low_fpr() -> None:
    X, y = _noisy_data(300, seed=3)
    attacks = ("lira-offline", "rmia-offline", "lira-online-fixed-var")
    leaky = membership_attack(_deep_forest, X, y, n_reference=8, attacks=attacks, fprs=(0.01,))
    tight = membership_attack(_strong_l2, X, y, n_reference=8, attacks=attacks, fprs=(0.01,))
    leaky_name, leaky_point = leaky.best_tpr(0.01)
    _, tight_point = tight.best_tpr(0.01)

    assert leaky_point.tpr.value > 3 * tight_point.tpr.value
    assert leaky_point.tpr.low > tight_point.tpr.high
    assert leaky.results[leaky_name].roc.auc > 0.6
    assert max(r.roc.auc for r in tight.results.values()) < 0.58
    # The achieved FPR stays near the requested one: thresholds are calibrated.
    assert leaky_point.fpr.low <= 0.01 <= leaky_point.fpr.high
    assert 0.5 < tight.utility <= 1.0


def test_too_few_nonmembers_for_fpr() -> None:
    X, y = _noisy_data(60, seed=4)
    with pytest.raises(InputError, match="too few non-members for FPR 0.001") as info:
        membership_attack(_strong_l2, X, y, n_reference=4, fprs=(0.001,), n_jobs=1)
    assert "needs at least 1000" in str(info.value)


def test_patients_stay_together_in_references() -> None:
    X, y = _noisy_data(120, seed=5)
    groups = np.repeat(np.arange(40), 3)
    refs = reference.train_references(
        reference.CallableRecipe(_strong_l2),
        X,
        y,
        groups.astype(np.int64),
        n_models=6,
        n_jobs=1,
    )
    for model_rows in refs.row_in:
        per_patient = model_rows.reshape(40, 3)
        assert np.all(per_patient.all(axis=1) | ~per_patient.any(axis=1))
    # Each patient is IN exactly half of the models.
    assert np.all(refs.patient_in.sum(axis=0) == 3)


def test_reference_cache_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = _noisy_data(80, seed=6)
    patients = np.arange(80, dtype=np.int64)
    recipe = reference.EstimatorRecipe(_strong_l2())

    def train() -> reference.ReferenceOutputs:
        return reference.train_references(
            recipe, X, y, patients, n_models=4, n_jobs=1, cache_dir=tmp_path
        )

    first = train()
    files = sorted(tmp_path.glob("*/ref-*.npz"))
    assert len(files) == 4

    files[2].unlink()  # as if the run had stopped before model 2 was saved
    calls: list[int] = []
    real_fit = reference._fit_one

    def counting_fit(*args: Any) -> Any:
        calls.append(1)
        return real_fit(*args)

    monkeypatch.setattr(reference, "_fit_one", counting_fit)
    second = train()
    assert len(calls) == 1
    np.testing.assert_allclose(second.true_prob, first.true_prob)


def test_prob_clip_follows_tree_resolution() -> None:
    # A 50-tree forest outputs multiples of 0.02: the clip is half a step.
    outputs = np.array([[0.0, 0.02, 0.5, 1.0], [0.98, 1.0, 0.04, 0.5]])
    assert choose_prob_clip(outputs) == pytest.approx(0.01)
    assert choose_prob_clip(np.array([[1e-30, 0.5]])) == pytest.approx(1e-12)


def test_lira_online_prefers_in_like_outputs() -> None:
    rng = np.random.default_rng(7)
    ref_in = np.zeros((8, 2), dtype=bool)
    ref_in[:4] = True
    ref_prob = np.where(ref_in, 0.95, 0.6) + rng.normal(0, 0.01, (8, 2))
    params = AttackParams(prob_clip=1e-6)
    scores = row_scores("lira-online", np.array([0.95, 0.6]), ref_prob, ref_in, params)
    assert scores[0] > 0 > scores[1]


def _write_split(frame: pd.DataFrame, members: np.ndarray, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    train, heldout = folder / "train.csv", folder / "heldout.csv"
    frame[members].to_csv(train, index=False)
    frame[~members].to_csv(heldout, index=False)
    return train, heldout


def test_thresholds_ignore_membership_labels(tmp_path: Path) -> None:
    X, y = _noisy_data(400, seed=8)
    frame = X.assign(label=y, patient=[f"p{i:04d}" for i in range(len(y))])
    members = np.zeros(len(y), dtype=bool)
    members[np.random.default_rng(0).permutation(len(y))[:200]] = True
    model = LogisticRegression(C=1.0).fit(X[members], y[members])
    sio.dump(model, tmp_path / "model.skops")

    # Same pool, same model, but which patients are called members is shuffled.
    shuffled = np.random.default_rng(1).permutation(members)
    results = []
    for name, mask in (("true", members), ("shuffled", shuffled)):
        train, heldout = _write_split(frame, mask, tmp_path / name)
        config = AuditConfig(
            train=train,
            heldout=heldout,
            patient_id="patient",
            label="label",
            model=tmp_path / "model.skops",
            references=4,
            attacks=("loss", "lira-offline", "rmia-online"),
            fprs=(0.01,),
            verdict_fpr=0.01,
            n_jobs=1,
        )
        results.append(run_audit(config))

    for attack in ("loss", "lira-offline", "rmia-online"):
        true_point = results[0].attacks[attack].released
        shuffled_point = results[1].attacks[attack].released
        assert true_point is not None and shuffled_point is not None
        assert true_point.point(0.01).threshold == shuffled_point.point(0.01).threshold
    # The true labels do give the attack something to find; shuffled ones do not.
    true_auc = results[0].attacks["lira-offline"].released
    shuffled_auc = results[1].attacks["lira-offline"].released
    assert true_auc is not None and shuffled_auc is not None
    assert true_auc.roc.auc > shuffled_auc.roc.auc
