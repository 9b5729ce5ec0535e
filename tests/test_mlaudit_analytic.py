"""Check the Gaussian-DP attack curve, the (ε, δ)-DP bound and their Monte-Carlo agreement."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from nemecys.mlaudit.analytic import (
    check_dp_bound,
    check_dp_bound_at_fprs,
    dp_advantage_bound,
    dp_tpr_bound,
    gaussian_mechanism_game,
    gdp_auc,
    gdp_max_advantage,
    gdp_tpr,
    likelihood_ratio_threshold,
    one_sided_bounds,
)


@pytest.mark.parametrize(
    ("mu", "tpr_0_1", "tpr_1", "tpr_10", "auc", "advantage"),
    [
        (0.5, 0.0048, 0.0339, 0.2172, 0.638, 0.197),
        (1.0, 0.0183, 0.0924, 0.3891, 0.760, 0.383),
        (2.0, 0.1378, 0.3721, 0.7638, 0.921, 0.683),
    ],
)
def test_gdp_curve_matches_table(
    mu: float, tpr_0_1: float, tpr_1: float, tpr_10: float, auc: float, advantage: float
) -> None:
    # Values of Φ(Φ⁻¹(α) + μ), Φ(μ/√2) and 2Φ(μ/2) − 1 rounded to the printed digits.
    tpr = gdp_tpr([0.001, 0.01, 0.1], mu)

    assert tpr[0] == pytest.approx(tpr_0_1, abs=5e-5)
    assert tpr[1] == pytest.approx(tpr_1, abs=5e-5)
    assert tpr[2] == pytest.approx(tpr_10, abs=5e-5)
    assert gdp_auc(mu) == pytest.approx(auc, abs=5e-4)
    assert gdp_max_advantage(mu) == pytest.approx(advantage, abs=5e-4)


def test_gdp_zero_mu_is_chance() -> None:
    rates = np.array([0.001, 0.3, 0.9])

    assert np.allclose(gdp_tpr(rates, 0.0), rates)
    assert gdp_auc(0.0) == pytest.approx(0.5)


def test_gaussian_game_reproduces_gdp_curve() -> None:
    # The attacker sets its threshold from the known null distribution, as the optimal
    # likelihood-ratio test does, so TPR and FPR are plain binomial proportions.
    mu = 1.0
    scores, is_member = gaussian_mechanism_game(mu, 400_000, np.random.default_rng(7))
    members = scores[is_member]
    nonmembers = scores[~is_member]
    threshold = likelihood_ratio_threshold(mu, 0.001)

    hits = int(np.count_nonzero(members > threshold))
    false_positives = int(np.count_nonzero(nonmembers > threshold))
    tpr_low, tpr_high = one_sided_bounds(hits, members.size, 0.995)
    fpr_low, fpr_high = one_sided_bounds(false_positives, nonmembers.size, 0.995)

    assert tpr_low <= 0.0183 <= tpr_high
    assert tpr_low <= float(gdp_tpr(0.001, mu)) <= tpr_high
    assert fpr_low <= 0.001 <= fpr_high


def test_gaussian_game_auc_within_ci() -> None:
    mu = 1.0
    scores, is_member = gaussian_mechanism_game(mu, 200_000, np.random.default_rng(11))
    members = scores[is_member]
    nonmembers = scores[~is_member]
    test = stats.mannwhitneyu(members, nonmembers, alternative="two-sided")
    auc = float(test.statistic) / (members.size * nonmembers.size)

    # Hanley and McNeil (1982) standard error of an empirical AUC.
    q1 = auc / (2.0 - auc)
    q2 = 2.0 * auc**2 / (1.0 + auc)
    variance = (
        auc * (1.0 - auc)
        + (members.size - 1) * (q1 - auc**2)
        + (nonmembers.size - 1) * (q2 - auc**2)
    ) / (members.size * nonmembers.size)
    half_width = 3.0 * math.sqrt(variance)

    assert abs(auc - 0.760) <= half_width + 5e-4
    assert abs(auc - gdp_auc(mu)) <= half_width


def test_gaussian_game_score_distributions() -> None:
    mu = 2.0
    scores, is_member = gaussian_mechanism_game(mu, 100_000, np.random.default_rng(3))

    assert scores[is_member].mean() == pytest.approx(mu**2 / 2.0, abs=0.05)
    assert scores[~is_member].mean() == pytest.approx(-(mu**2) / 2.0, abs=0.05)
    assert scores[~is_member].std() == pytest.approx(mu, rel=0.02)


def test_project_metrics_match_gaussian_game() -> None:
    # The project's ROC code, with its threshold set on the sampled non-members, must land on
    # the exact curve. The band adds the spread of the threshold itself: the slope of the curve
    # at 0.1 % FPR times the binomial spread of the non-member count above the threshold.
    metrics = pytest.importorskip("nemecys.mlaudit.metrics")
    mu = 1.0
    scores, is_member = gaussian_mechanism_game(mu, 1_000_000, np.random.default_rng(5))
    curve = metrics.roc(scores[is_member], scores[~is_member])
    measured = metrics.tpr_at_fpr_from_roc(curve, 0.001)

    nonmembers = int(np.count_nonzero(~is_member))
    members = int(np.count_nonzero(is_member))
    slope = math.exp(-mu * float(stats.norm.ppf(0.001)) - mu**2 / 2.0)
    threshold_spread = slope * math.sqrt(0.001 / nonmembers)
    binomial_spread = math.sqrt(0.0183 * (1 - 0.0183) / members)
    band = 4.0 * math.hypot(threshold_spread, binomial_spread)

    assert abs(measured - float(gdp_tpr(0.001, mu))) <= band
    assert curve.auc == pytest.approx(gdp_auc(mu), abs=0.002)


@pytest.mark.parametrize(
    ("epsilon", "tpr_0_1", "tpr_1", "advantage"),
    [(1.0, 0.0027, 0.027, 0.46), (2.0, 0.0074, 0.074, 0.76), (4.0, 0.055, 0.55, 0.96)],
)
def test_dp_bound_values(epsilon: float, tpr_0_1: float, tpr_1: float, advantage: float) -> None:
    bound = dp_tpr_bound([0.001, 0.01], epsilon, 1e-5)

    assert bound[0] == pytest.approx(tpr_0_1, rel=0.02)
    assert bound[1] == pytest.approx(tpr_1, rel=0.02)
    assert dp_advantage_bound(epsilon, 1e-5) == pytest.approx(advantage, abs=0.005)


def test_dp_bound_vacuous_at_large_epsilon() -> None:
    assert float(dp_tpr_bound(0.001, 8.0, 1e-5)) > 0.99
    assert float(dp_tpr_bound(0.001, 1000.0, 0.0)) == 1.0
    assert float(dp_tpr_bound(0.0, 1000.0, 0.0)) == 0.0
    assert dp_advantage_bound(1000.0, 0.0) == 1.0
    assert float(dp_tpr_bound(0.5, 1.0, 0.0)) == pytest.approx(1.0 - math.exp(-1.0) * 0.5)


def test_dp_bound_rejects_invalid_parameters() -> None:
    with pytest.raises(ValueError, match="epsilon"):
        dp_tpr_bound(0.1, -1.0, 0.0)
    with pytest.raises(ValueError, match="delta"):
        dp_tpr_bound(0.1, 1.0, 1.5)


def test_gdp_curve_within_dp_bound() -> None:
    # A Gaussian mechanism with μ = 1 is (ε, δ)-DP for δ(ε) = Φ(−ε/μ + μ/2) − e^ε Φ(−ε/μ − μ/2)
    # (Balle and Wang 2018, "Improving the Gaussian Mechanism for Differential Privacy"),
    # so its exact curve must stay inside that DP region at every FPR.
    mu = 1.0
    epsilon = 2.0
    delta = float(
        stats.norm.cdf(-epsilon / mu + mu / 2)
        - math.exp(epsilon) * stats.norm.cdf(-epsilon / mu - mu / 2)
    )
    rates = np.logspace(-6, 0, 200)

    assert np.all(gdp_tpr(rates, mu) <= dp_tpr_bound(rates, epsilon, delta) + 1e-12)


def test_dp_check_flags_clear_violation() -> None:
    check = check_dp_bound(120, 1000, 1, 1000, epsilon=1.0, delta=1e-5)

    assert check.tpr == pytest.approx(0.12)
    assert check.fpr_upper > 0.001
    assert check.violated


def test_dp_check_accepts_within_ci() -> None:
    # 6/1000 at FPR 1/1000 is above e^1 * 0.001 + δ = 0.0027 as a point estimate, but not
    # beyond the confidence intervals.
    check = check_dp_bound(6, 1000, 1, 1000, epsilon=1.0, delta=1e-5)

    assert check.tpr > float(dp_tpr_bound(check.fpr, 1.0, 1e-5))
    assert not check.violated


def test_dp_check_on_gaussian_game() -> None:
    # μ = 1 is (ε, δ)-DP at ε = 2 with the δ computed above; an attack far stronger than the
    # claim (μ = 3) must be flagged on the same number of trials.
    epsilon = 2.0
    delta = float(
        stats.norm.cdf(-epsilon + 0.5) - math.exp(epsilon) * stats.norm.cdf(-epsilon - 0.5)
    )
    rng = np.random.default_rng(21)

    honest_scores, honest_members = gaussian_mechanism_game(1.0, 100_000, rng)
    honest = check_dp_bound_at_fprs(
        honest_scores[honest_members], honest_scores[~honest_members], epsilon=epsilon, delta=delta
    )
    leaky_scores, leaky_members = gaussian_mechanism_game(3.0, 100_000, rng)
    leaky = check_dp_bound_at_fprs(
        leaky_scores[leaky_members], leaky_scores[~leaky_members], epsilon=epsilon, delta=delta
    )

    assert [check.violated for check in honest] == [False, False, False]
    assert any(check.violated for check in leaky)


def test_one_sided_bounds_edges() -> None:
    assert one_sided_bounds(0, 285, 0.95)[0] == 0.0
    assert one_sided_bounds(0, 285, 0.95)[1] == pytest.approx(1 - 0.05 ** (1 / 285))
    assert one_sided_bounds(285, 285, 0.95)[1] == 1.0
    with pytest.raises(ValueError, match="invalid binomial counts"):
        one_sided_bounds(3, 2, 0.95)
