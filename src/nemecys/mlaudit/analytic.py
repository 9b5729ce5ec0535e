"""Exact attack limits that a membership-inference audit can be checked against.

Two kinds of ground truth are provided:

* The Gaussian mechanism. Releasing a statistic of sensitivity Δ with Gaussian noise of
  standard deviation σ is μ-GDP with μ = Δ/σ (Dong, Roth and Su 2022, "Gaussian Differential
  Privacy"). The most powerful test of "record in" against "record out" is a likelihood-ratio
  test between N(μ, 1) and N(0, 1), so its ROC is exactly TPR(FPR) = Φ(Φ⁻¹(FPR) + μ), with
  AUC = Φ(μ/√2) and maximum advantage 2Φ(μ/2) − 1. For μ = 1: TPR at 0.1 % FPR = 1.83 %,
  AUC = 0.760. `gaussian_mechanism_game` simulates that game, so the attack and metric code
  can be run where the right answer is known.
* (ε, δ)-DP. Any test against a model trained with an (ε, δ)-DP algorithm satisfies
  TPR ≤ min(e^ε·FPR + δ, 1 − e^(−ε)·(1 − δ − FPR)) (Kairouz, Oh and Viswanath 2015, "The
  Composition Theorem for Differential Privacy"). `check_dp_bound` compares a measured
  (TPR, FPR) with this region using one-sided Clopper-Pearson bounds, so a violation means
  that the DP claim (or its accounting) is wrong, not that the sample was unlucky.

This module computes its own thresholds and intervals with scipy instead of reusing
`nemecys.mlaudit.metrics`, so that it stays an independent oracle for testing that module.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def gdp_tpr(fpr: ArrayLike, mu: float) -> FloatArray:
    """Return the optimal attack's TPR at each FPR against a μ-GDP mechanism."""
    if mu < 0:
        raise ValueError(f"mu must be non-negative, got {mu}")
    rates = np.asarray(fpr, dtype=np.float64)
    return np.asarray(stats.norm.cdf(stats.norm.ppf(rates) + mu), dtype=np.float64)


def gdp_auc(mu: float) -> float:
    """Return the optimal attack's AUC against a μ-GDP mechanism, Φ(μ/√2)."""
    return float(stats.norm.cdf(mu / math.sqrt(2.0)))


def gdp_max_advantage(mu: float) -> float:
    """Return the optimal attack's maximum TPR − FPR against a μ-GDP mechanism, 2Φ(μ/2) − 1."""
    return float(2.0 * stats.norm.cdf(mu / 2.0) - 1.0)


def dp_tpr_bound(fpr: ArrayLike, epsilon: float, delta: float) -> FloatArray:
    """Return the largest TPR any test can reach at each FPR against an (ε, δ)-DP algorithm."""
    _check_privacy_parameters(epsilon, delta)
    rates = np.asarray(fpr, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        # inf for a huge ε, which the clip below handles; 0·inf would be NaN, so FPR 0 gives δ.
        first = np.where(rates > 0, np.exp(epsilon) * rates, 0.0) + delta
    second = 1.0 - math.exp(-epsilon) * (1.0 - delta - rates)
    return np.asarray(np.clip(np.minimum(first, second), 0.0, 1.0), dtype=np.float64)


def dp_advantage_bound(epsilon: float, delta: float) -> float:
    """Return the largest TPR − FPR any test can reach against an (ε, δ)-DP algorithm."""
    _check_privacy_parameters(epsilon, delta)
    # (e^ε − 1 + 2δ)/(e^ε + 1), divided through by e^ε so that a huge ε cannot overflow.
    shrink = math.exp(-epsilon)
    return (1.0 - shrink * (1.0 - 2.0 * delta)) / (1.0 + shrink)


def _check_privacy_parameters(epsilon: float, delta: float) -> None:
    if epsilon < 0 or math.isnan(epsilon):
        raise ValueError(f"epsilon must be non-negative, got {epsilon}")
    if not 0.0 <= delta < 1.0:
        raise ValueError(f"delta must be in [0, 1), got {delta}")


def gaussian_mechanism_game(
    mu: float, trials: int, rng: np.random.Generator, *, records: int = 100
) -> tuple[FloatArray, BoolArray]:
    """Simulate the leave-one-out game on a Gaussian-noised sum; return LLR scores and labels.

    Each trial draws `records` other values in [0, 1], flips a fair coin for whether the
    target record (value 1, the worst case for sensitivity 1) is added, and releases the sum
    plus N(0, σ²) noise with σ = 1/μ. The attacker knows the other records and computes the
    log-likelihood ratio log p(release | in) / p(release | out), the most powerful test.
    Scores of members follow N(μ²/2, μ²) and of non-members N(−μ²/2, μ²).
    """
    if mu <= 0:
        raise ValueError(f"mu must be positive for the game, got {mu}")
    if trials < 1 or records < 0:
        raise ValueError(f"need trials >= 1 and records >= 0, got {trials}, {records}")
    sigma = 1.0 / mu
    is_member = rng.random(trials) < 0.5
    others = rng.random((trials, records)).sum(axis=1)
    release = others + is_member.astype(np.float64) + rng.normal(0.0, sigma, trials)
    residual = release - others
    scores = (residual - 0.5) / sigma**2
    return scores.astype(np.float64), is_member


def likelihood_ratio_threshold(mu: float, fpr: float) -> float:
    """Return the LLR threshold of `gaussian_mechanism_game` whose exact FPR is `fpr`."""
    return float(-(mu**2) / 2.0 + mu * stats.norm.isf(fpr))


def one_sided_bounds(hits: int, trials: int, confidence: float) -> tuple[float, float]:
    """Return the exact one-sided Clopper-Pearson lower and upper bounds, each at `confidence`."""
    if trials <= 0 or not 0 <= hits <= trials:
        raise ValueError(f"invalid binomial counts: {hits} hits in {trials} trials")
    low = 0.0 if hits == 0 else float(stats.beta.ppf(1.0 - confidence, hits, trials - hits + 1))
    high = 1.0 if hits == trials else float(stats.beta.ppf(confidence, hits + 1, trials - hits))
    return low, high


@dataclass(frozen=True)
class DpBoundCheck:
    """A measured (TPR, FPR) compared with the (ε, δ)-DP region at one threshold.

    `violated` is True when even the lower bound of TPR exceeds the largest TPR allowed at
    the upper bound of FPR, so that the data reject the DP claim at `confidence`.
    """

    epsilon: float
    delta: float
    true_positives: int
    members: int
    false_positives: int
    nonmembers: int
    tpr: float
    tpr_lower: float
    fpr: float
    fpr_upper: float
    allowed_tpr: float  # the DP bound at fpr_upper
    confidence: float

    @property
    def violated(self) -> bool:
        return self.tpr_lower > self.allowed_tpr


def check_dp_bound(
    true_positives: int,
    members: int,
    false_positives: int,
    nonmembers: int,
    *,
    epsilon: float,
    delta: float,
    confidence: float = 0.95,
) -> DpBoundCheck:
    """Compare counts at one fixed threshold with the (ε, δ)-DP bound on TPR.

    The TPR lower bound and the FPR upper bound are each one-sided at
    1 − (1 − confidence)/2, so that both hold together with probability `confidence`.
    """
    _check_privacy_parameters(epsilon, delta)
    each = 1.0 - (1.0 - confidence) / 2.0
    tpr_lower, _ = one_sided_bounds(true_positives, members, each)
    _, fpr_upper = one_sided_bounds(false_positives, nonmembers, each)
    return DpBoundCheck(
        epsilon=epsilon,
        delta=delta,
        true_positives=true_positives,
        members=members,
        false_positives=false_positives,
        nonmembers=nonmembers,
        tpr=true_positives / members,
        tpr_lower=tpr_lower,
        fpr=false_positives / nonmembers,
        fpr_upper=fpr_upper,
        allowed_tpr=float(dp_tpr_bound(fpr_upper, epsilon, delta)),
        confidence=confidence,
    )


def check_dp_bound_at_fprs(
    member_scores: ArrayLike,
    nonmember_scores: ArrayLike,
    *,
    epsilon: float,
    delta: float,
    fprs: Sequence[float] = (0.001, 0.01, 0.1),
    confidence: float = 0.95,
) -> tuple[DpBoundCheck, ...]:
    """Check the DP bound at the thresholds that flag at most each of `fprs` of non-members.

    A record is flagged when its score is strictly greater than the threshold. The threshold
    for rate α is the k-th largest non-member score with k = ⌊α·n⌋ + 1. For continuous
    scores the true FPR of that order statistic is Beta-distributed exactly as the
    Clopper-Pearson upper bound assumes, and member hits are binomial given the threshold.
    The confidence is split evenly over the thresholds (Bonferroni), so the checks hold
    together at `confidence`.
    """
    members = np.asarray(member_scores, dtype=np.float64)
    nonmembers = np.asarray(nonmember_scores, dtype=np.float64)
    if members.size == 0 or nonmembers.size == 0:
        raise ValueError("the DP bound check needs member and non-member scores")
    per_check = 1.0 - (1.0 - confidence) / len(fprs)
    ordered = np.sort(nonmembers)[::-1]
    checks = []
    for rate in fprs:
        k = min(math.floor(rate * ordered.size + 1e-9) + 1, ordered.size)
        threshold = ordered[k - 1]
        checks.append(
            check_dp_bound(
                int(np.count_nonzero(members > threshold)),
                members.size,
                int(np.count_nonzero(nonmembers > threshold)),
                nonmembers.size,
                epsilon=epsilon,
                delta=delta,
                confidence=per_check,
            )
        )
    return tuple(checks)
