"""Membership-inference metrics that hold up at low false-positive rates.

Average-case numbers (AUC, balanced accuracy) hide the patients an attacker can pick out with
near certainty, so the headline metric is the true-positive rate at a small, fixed
false-positive rate (0.1 % and 1 %), as Carlini et al. (2022, "Membership Inference Attacks
From First Principles") argue. Every rate comes with an exact Clopper-Pearson interval
because audits of medical models run on a few hundred to a few thousand patients.

Decision rule used throughout: a patient is flagged as a member when its score is strictly
greater than the threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Interval:
    """A proportion `hits / trials` with its two-sided exact confidence interval."""

    hits: int
    trials: int
    low: float
    high: float

    @property
    def value(self) -> float:
        return self.hits / self.trials if self.trials else math.nan


def clopper_pearson(hits: int, trials: int, confidence: float = 0.95) -> Interval:
    """Return the exact (Clopper-Pearson) two-sided interval for a binomial proportion."""
    if trials < 0 or hits < 0 or hits > trials:
        raise ValueError(f"invalid binomial counts: {hits} hits in {trials} trials")
    if trials == 0:
        return Interval(0, 0, 0.0, 1.0)
    tail = (1.0 - confidence) / 2.0
    low = 0.0 if hits == 0 else float(stats.beta.ppf(tail, hits, trials - hits + 1))
    high = 1.0 if hits == trials else float(stats.beta.ppf(1.0 - tail, hits + 1, trials - hits))
    return Interval(hits, trials, low, high)


def one_sided_bounds(hits: int, trials: int, confidence: float) -> tuple[float, float]:
    """Return the one-sided exact lower and upper bounds, each at `confidence`."""
    interval = clopper_pearson(hits, trials, 1.0 - 2.0 * (1.0 - confidence))
    return interval.low, interval.high


def min_nonmembers(fpr: float) -> int:
    """Return how many non-members are needed before a false-positive rate `fpr` can occur.

    With n non-members the measured FPR moves in steps of 1/n, so n < 1/fpr means the value
    reported "at fpr" is really the value at FPR = 0.
    """
    return math.ceil(1.0 / fpr - 1e-9)


def threshold_at_fpr(null_scores: FloatArray, fpr: float) -> float:
    """Return the threshold that flags at most `fpr` of `null_scores` (non-member scores).

    The threshold is the k-th largest null score with k = floor(fpr * n) + 1, so that at most
    floor(fpr * n) null scores are strictly greater than it.
    """
    if null_scores.size == 0:
        raise ValueError("no non-member scores to set a threshold from")
    ordered = np.sort(null_scores)[::-1]
    k = min(math.floor(fpr * ordered.size + 1e-9) + 1, ordered.size)
    return float(ordered[k - 1])


def empirical_p_values(scores: FloatArray, null_scores: FloatArray) -> FloatArray:
    """Return, for each score, the share of null scores at least as high (conservative +1 form).

    This is the smallest false-positive rate at which an attacker using the same null
    distribution would flag the record: a per-record risk on the FPR scale.
    """
    ordered = np.sort(null_scores)
    at_least = ordered.size - np.searchsorted(ordered, scores, side="left")
    return np.asarray((1.0 + at_least) / (1.0 + ordered.size), dtype=np.float64)


@dataclass(frozen=True)
class Roc:
    """A receiver operating characteristic curve with members as the positive class."""

    fpr: FloatArray
    tpr: FloatArray
    auc: float
    auc_p_value: float  # one-sided Mann-Whitney test of AUC > 0.5
    max_advantage: float  # max(TPR - FPR) with an oracle threshold: average-case, optimistic


def roc(member_scores: FloatArray, nonmember_scores: FloatArray) -> Roc:
    """Compute the ROC curve, AUC with its p-value and the maximum membership advantage."""
    if member_scores.size == 0 or nonmember_scores.size == 0:
        raise ValueError("ROC needs at least one member and one non-member score")
    scores = np.concatenate([member_scores, nonmember_scores])
    labels = np.concatenate([np.ones(member_scores.size), np.zeros(nonmember_scores.size)])
    order = np.argsort(-scores, kind="mergesort")
    scores = scores[order]
    labels = labels[order]

    # One ROC point per distinct threshold: the last index of each run of equal scores.
    distinct = np.flatnonzero(np.diff(scores) != 0)
    ends = np.concatenate([distinct, [scores.size - 1]])
    true_positives = np.cumsum(labels)[ends]
    false_positives = (ends + 1) - true_positives
    tpr = np.concatenate([[0.0], true_positives / member_scores.size])
    fpr = np.concatenate([[0.0], false_positives / nonmember_scores.size])

    test = stats.mannwhitneyu(member_scores, nonmember_scores, alternative="greater")
    auc = float(test.statistic) / (member_scores.size * nonmember_scores.size)
    return Roc(
        fpr=fpr,
        tpr=tpr,
        auc=auc,
        auc_p_value=float(test.pvalue),
        max_advantage=float(np.max(tpr - fpr)),
    )


def tpr_at_fpr_from_roc(curve: Roc, fpr: float) -> float:
    """Return the highest TPR on the curve whose FPR does not exceed `fpr` (step rule).

    No interpolation: values between two FPR steps are not invented.
    """
    return float(np.max(curve.tpr[curve.fpr <= fpr + 1e-12]))


def ppv(tpr: float, fpr: float, member_share: float) -> float:
    """Return the share of flagged patients who are members, when `member_share` of the
    patients the attacker tests were in the training data."""
    flagged = member_share * tpr + (1.0 - member_share) * fpr
    return member_share * tpr / flagged if flagged > 0 else math.nan


def epsilon_lower_bound(
    true_positives: int,
    members: int,
    false_positives: int,
    nonmembers: int,
    *,
    delta: float = 0.0,
    confidence: float = 0.95,
) -> float:
    """Return a lower bound on epsilon, valid with `confidence`, for one fixed threshold.

    An (epsilon, delta)-DP training algorithm forces TPR <= e^eps * FPR + delta and
    1 - FPR <= e^eps * (1 - TPR) + delta for every test. Replacing TPR by its lower and FPR
    by its upper one-sided Clopper-Pearson bound (each at confidence 1 - (1 - confidence)/2,
    so both hold together) gives a bound the true epsilon must exceed: the first inequality
    uses TPR low / FPR high, the second (1 - FPR high) / (1 - TPR low). Returns 0 when the
    counts show no evidence of leakage.
    """
    per_bound = 1.0 - (1.0 - confidence) / 2.0
    tpr_low, _ = one_sided_bounds(true_positives, members, per_bound)
    _, fpr_high = one_sided_bounds(false_positives, nonmembers, per_bound)
    candidates = [0.0]
    if fpr_high > 0 and tpr_low - delta > 0:
        candidates.append(math.log((tpr_low - delta) / fpr_high))
    if 1.0 - tpr_low > 0 and 1.0 - fpr_high - delta > 0:
        candidates.append(math.log((1.0 - fpr_high - delta) / (1.0 - tpr_low)))
    return max(candidates)
