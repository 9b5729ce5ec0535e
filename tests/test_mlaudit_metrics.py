"""Membership metrics: exact intervals, thresholds, ROC, PPV and the epsilon lower bound."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("sklearn")

from scipy import stats
from sklearn.metrics import roc_auc_score

from nemecys.mlaudit import metrics


@pytest.mark.parametrize(("hits", "trials"), [(0, 10), (3, 285), (1, 1), (50, 100), (7, 7)])
def test_clopper_pearson_matches_scipy(hits: int, trials: int) -> None:
    interval = metrics.clopper_pearson(hits, trials)
    expected = stats.binomtest(hits, trials).proportion_ci(0.95, method="exact")
    assert interval.low == pytest.approx(expected.low, abs=1e-12)
    assert interval.high == pytest.approx(expected.high, abs=1e-12)


@pytest.mark.parametrize(
    ("hits", "trials", "low", "high"),
    [(3, 285, 0.0022, 0.0305), (0, 285, 0.0, 0.0129), (100, 10_000, 0.0081, 0.0122)],
)
def test_clopper_pearson_published_values(hits: int, trials: int, low: float, high: float) -> None:
    # The published values are rounded to 0.01 percentage points.
    interval = metrics.clopper_pearson(hits, trials)
    assert interval.low == pytest.approx(low, abs=1e-4)
    assert interval.high == pytest.approx(high, abs=1e-4)


def test_clopper_pearson_rejects_bad_counts() -> None:
    with pytest.raises(ValueError, match="invalid binomial counts"):
        metrics.clopper_pearson(5, 3)


@pytest.mark.parametrize("fpr", [0.001, 0.01, 0.1])
def test_threshold_flags_at_most_fpr(fpr: float) -> None:
    rng = np.random.default_rng(1)
    null = rng.normal(size=5_000)
    threshold = metrics.threshold_at_fpr(null, fpr)
    flagged = int(np.sum(null > threshold))
    assert flagged <= fpr * null.size
    # The next lower null score would flag one more than allowed.
    assert flagged >= fpr * null.size - 1


def test_threshold_with_ties_flags_nothing_extra() -> None:
    null = np.array([0.0] * 90 + [1.0] * 10)
    threshold = metrics.threshold_at_fpr(null, 0.05)
    assert threshold == 1.0
    assert int(np.sum(null > threshold)) == 0


def test_min_nonmembers() -> None:
    assert metrics.min_nonmembers(0.001) == 1000
    assert metrics.min_nonmembers(0.01) == 100
    assert metrics.min_nonmembers(0.003) == 334


def test_roc_auc_matches_sklearn() -> None:
    rng = np.random.default_rng(2)
    members = rng.normal(0.5, 1, 300).round(1)  # rounding creates ties
    nonmembers = rng.normal(0, 1, 400).round(1)
    curve = metrics.roc(members, nonmembers)
    labels = np.r_[np.ones(300), np.zeros(400)]
    assert curve.auc == pytest.approx(roc_auc_score(labels, np.r_[members, nonmembers]))
    assert curve.auc_p_value < 1e-6
    assert curve.fpr[0] == 0.0
    assert curve.tpr[-1] == 1.0


def test_tpr_at_fpr_uses_step_rule() -> None:
    # Non-member scores 0..9; members above all but one non-member.
    nonmembers = np.arange(10, dtype=float)
    members = np.array([8.5, 8.6, 20.0])
    curve = metrics.roc(members, nonmembers)
    # FPR 0.05 is below the first step (0.1): only the member above every non-member counts.
    assert metrics.tpr_at_fpr_from_roc(curve, 0.05) == pytest.approx(1 / 3)
    assert metrics.tpr_at_fpr_from_roc(curve, 0.1) == pytest.approx(1.0)


def test_ppv_at_member_share() -> None:
    assert metrics.ppv(0.5, 0.01, 0.5) == pytest.approx(0.5 / 0.51)
    assert metrics.ppv(0.5, 0.01, 0.01) == pytest.approx(0.005 / (0.005 + 0.0099))
    assert math.isnan(metrics.ppv(0.0, 0.0, 0.5))


def test_epsilon_bound_zero_without_leak() -> None:
    assert metrics.epsilon_lower_bound(10, 1000, 10, 1000) == 0.0


def test_epsilon_bound_grows_with_evidence() -> None:
    weak = metrics.epsilon_lower_bound(50, 1000, 10, 1000)
    strong = metrics.epsilon_lower_bound(500, 10_000, 10, 10_000)
    assert 0.0 < weak < strong
    # It must stay below the point estimate log(TPR / FPR).
    assert strong < math.log(0.05 / 0.001)


def test_empirical_p_values() -> None:
    null = np.arange(99, dtype=float)
    p = metrics.empirical_p_values(np.array([1000.0, 98.0, -1.0]), null)
    assert p[0] == pytest.approx(1 / 100)
    assert p[1] == pytest.approx(2 / 100)
    assert p[2] == pytest.approx(1.0)
