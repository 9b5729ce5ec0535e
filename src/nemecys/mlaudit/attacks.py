"""Membership-inference attacks: LOSS, LiRA and RMIA, with thresholds set on reference models.

Implemented from the published methods, written for this project:

- LOSS (Yeom et al. 2018): a patient whose records get a high probability of their own label
  is flagged.
- LiRA (Carlini et al. 2022, "Membership Inference Attacks From First Principles"): fit a
  Gaussian to the scaled logit log(p / (1 - p)) of each record under reference models trained
  with it (IN) and another under models trained without it (OUT). The score is the
  log-likelihood ratio (online) or how far the target's value lies above the OUT Gaussian
  (offline). The fixed-variance variants use
  one pooled variance for all records, which is more stable with few reference models.
- RMIA (Zarifzadeh, Liu and Shokri 2024, "Low-Cost High-Power Membership Inference Attacks"):
  compare Pr(x | target) / Pr(x), with Pr(x) averaged over reference models, against the same
  ratio for population records z; the score is the share of z the record dominates. Offline,
  Pr(x) is estimated from OUT models as ((1 + a) * mean_OUT + (1 - a)) / 2, and `a` is tuned
  on the reference models, never on the audited model's membership.

Every score is computed per row and averaged over a patient's rows: the patient is the unit
of privacy. Each reference model in turn also plays the target ("pseudo-target"), scored with
the other reference models. Their OUT patients give the non-member score distribution that
fixes each threshold before the audited model's true membership labels are looked at, and
their IN/OUT patients give the training-recipe-level result (the privacy game over models
trained with this recipe on this population).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nemecys.errors import InputError
from nemecys.mlaudit import metrics
from nemecys.mlaudit.metrics import Interval, Roc
from nemecys.mlaudit.reference import CallableRecipe, ReferenceOutputs, train_references

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

ATTACKS = (
    "loss",
    "lira-online",
    "lira-online-fixed-var",
    "lira-offline",
    "lira-offline-fixed-var",
    "rmia-online",
    "rmia-offline",
)
ONLINE_ATTACKS = frozenset({"lira-online", "lira-online-fixed-var", "rmia-online"})
DEFAULT_FPRS = (0.001, 0.01)

# Bounds for the data-driven probability clip (see `choose_prob_clip`).
MIN_PROB_CLIP = 1e-12
MAX_PROB_CLIP = 1e-2
# Smallest per-record standard deviation, as a share of the pooled one. Without it, a record
# on which every reference model outputs the same value gets an unbounded score.
STD_FLOOR_SHARE = 0.25
RMIA_A_GRID = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))


@dataclass(frozen=True)
class AttackParams:
    """Settings shared by the attacks."""

    rmia_a: float = 0.3  # offline RMIA slope; replaced by the tuned value when tuning
    rmia_gamma: float = 1.0  # RMIA: x dominates z when ratio_x > gamma * ratio_z
    prob_clip: float = 1e-7  # probabilities are clipped to [prob_clip, 1 - prob_clip]


def choose_prob_clip(ref_prob: FloatArray) -> float:
    """Return half the smallest non-zero distance of a reference output from 0 or 1.

    Tree ensembles output exactly 0 or 1 for many records and otherwise move in steps of
    1/trees. Clipping at half a step keeps an output of 1 next to the value below it
    instead of arbitrarily far away on the logit scale. The choice uses reference models
    only, so it cannot depend on the audited model's membership labels.
    """
    gaps = np.minimum(ref_prob, 1.0 - ref_prob)
    positive = gaps[gaps > 0]
    smallest = float(positive.min()) if positive.size else MAX_PROB_CLIP
    return min(max(smallest / 2.0, MIN_PROB_CLIP), MAX_PROB_CLIP)


def scaled_logit(prob: FloatArray, clip: float) -> FloatArray:
    """Return log(p / (1 - p)) of the true-class probability, the LiRA signal."""
    clipped = np.clip(prob, clip, 1.0 - clip)
    return np.asarray(np.log(clipped) - np.log1p(-clipped), dtype=np.float64)


def _gaussian_stats(
    values: FloatArray, mask: BoolArray, fixed: bool
) -> tuple[FloatArray, FloatArray]:
    """Per-record mean and standard deviation over the models where `mask` is True.

    Records with fewer than two such models, and all records when `fixed`, get the pooled
    within-record standard deviation.
    """
    counts = mask.sum(axis=0)
    if np.any(counts == 0):
        raise ValueError("every record needs at least one reference model on this side")
    mean = np.where(mask, values, 0.0).sum(axis=0) / counts
    squares = np.where(mask, (values - mean) ** 2, 0.0).sum(axis=0)
    dof = np.maximum(counts - 1, 0)
    pooled = math.sqrt(squares.sum() / dof.sum()) if dof.sum() > 0 else 1.0
    per_record = np.sqrt(np.divide(squares, dof, out=np.full_like(squares, pooled), where=dof > 0))
    std = np.full_like(mean, pooled) if fixed else per_record
    return mean, np.maximum(std, max(STD_FLOOR_SHARE * pooled, 1e-6))


def _log_normal_pdf(x: FloatArray, mean: FloatArray, std: FloatArray) -> FloatArray:
    return np.asarray(-0.5 * ((x - mean) / std) ** 2 - np.log(std), dtype=np.float64)


def _rmia_ratio(
    target_prob: FloatArray,
    ref_prob: FloatArray,
    ref_in: BoolArray,
    online: bool,
    params: AttackParams,
) -> FloatArray:
    a = params.rmia_a
    clip = params.prob_clip
    clipped_target = np.clip(target_prob, clip, 1.0)
    if online:
        marginal = ref_prob.mean(axis=0)
    else:
        out = ~ref_in
        mean_out = np.where(out, ref_prob, 0.0).sum(axis=0) / out.sum(axis=0)
        marginal = 0.5 * ((1.0 + a) * mean_out + (1.0 - a))
    return np.asarray(clipped_target / np.clip(marginal, clip, 1.0), dtype=np.float64)


def row_scores(
    attack: str,
    target_prob: FloatArray,
    ref_prob: FloatArray,
    ref_in: BoolArray,
    params: AttackParams = AttackParams(),
) -> FloatArray:
    """Score every row for `attack`; higher means more likely a training record.

    `target_prob` (N,) is the true-class probability under the model being attacked,
    `ref_prob` (M, N) the same under M reference models, `ref_in` (M, N) their IN masks.
    """
    if attack == "loss":
        return np.log(np.clip(target_prob, params.prob_clip, 1.0))
    if attack.startswith("lira-"):
        fixed = attack.endswith("-fixed-var")
        signal = scaled_logit(target_prob, params.prob_clip)
        ref_signal = scaled_logit(ref_prob, params.prob_clip)
        mean_out, std_out = _gaussian_stats(ref_signal, ~ref_in, fixed)
        if attack.startswith("lira-offline"):
            return (signal - mean_out) / std_out
        mean_in, std_in = _gaussian_stats(ref_signal, ref_in, fixed)
        return _log_normal_pdf(signal, mean_in, std_in) - _log_normal_pdf(signal, mean_out, std_out)
    if attack.startswith("rmia-"):
        ratio = _rmia_ratio(target_prob, ref_prob, ref_in, attack == "rmia-online", params)
        # Share of the other pool rows z that x dominates. With gamma >= 1 a row never
        # dominates itself, so it only needs removing from the denominator.
        ordered = np.sort(ratio)
        dominated = np.searchsorted(ordered, ratio / params.rmia_gamma, side="left")
        return np.asarray(dominated / max(ratio.size - 1, 1), dtype=np.float64)
    raise ValueError(f"unknown attack '{attack}'; expected one of {', '.join(ATTACKS)}")


def patient_mean(row_values: FloatArray, patient_index: NDArray[np.int64]) -> FloatArray:
    """Average row values per patient (patients numbered 0..P-1)."""
    n_patients = int(patient_index.max()) + 1
    totals = np.bincount(patient_index, weights=row_values, minlength=n_patients)
    counts = np.bincount(patient_index, minlength=n_patients)
    return np.asarray(totals / counts, dtype=np.float64)


@dataclass(frozen=True)
class AttackScores:
    """Patient scores of one attack on the audited model and on each pseudo-target."""

    attack: str
    target: FloatArray | None  # (P,), None in a recipe-only audit
    pseudo: FloatArray  # (K, P): reference model k attacked with the other references
    pseudo_in: BoolArray  # (K, P)

    def null(self, exclude: int | None = None) -> FloatArray:
        """Pooled pseudo-target scores of patients OUT of that pseudo-target."""
        keep = np.ones(self.pseudo.shape[0], dtype=bool)
        if exclude is not None:
            keep[exclude] = False
        return self.pseudo[keep][~self.pseudo_in[keep]]


def score_attack(
    attack: str,
    refs: ReferenceOutputs,
    patient_index: NDArray[np.int64],
    target_prob: FloatArray | None,
    params: AttackParams,
    pseudo_targets: int | None = None,
) -> AttackScores:
    """Score the audited model (if given) and the first `pseudo_targets` reference models."""
    n_models = refs.n_models
    if attack in ONLINE_ATTACKS and n_models < 4:
        raise InputError(
            f"the online attack '{attack}' needs at least 4 reference models, got {n_models}; "
            "raise --references."
        )
    count = n_models if pseudo_targets is None else min(pseudo_targets, n_models)
    pseudo = np.empty((count, int(patient_index.max()) + 1))
    for k in range(count):
        others = np.arange(n_models) != k
        values = row_scores(
            attack, refs.true_prob[k], refs.true_prob[others], refs.row_in[others], params
        )
        pseudo[k] = patient_mean(values, patient_index)
    target = None
    if target_prob is not None:
        values = row_scores(attack, target_prob, refs.true_prob, refs.row_in, params)
        target = patient_mean(values, patient_index)
    return AttackScores(attack, target, pseudo, refs.patient_in[:count])


def tune_rmia_a(
    refs: ReferenceOutputs,
    patient_index: NDArray[np.int64],
    params: AttackParams,
    pseudo_targets: int = 8,
) -> float:
    """Pick offline RMIA's `a` by the pseudo-target AUC, using reference models only."""
    best_a, best_auc = params.rmia_a, -1.0
    for a in RMIA_A_GRID:
        scores = score_attack(
            "rmia-offline",
            refs,
            patient_index,
            None,
            replace(params, rmia_a=float(a)),
            pseudo_targets,
        )
        auc = metrics.roc(scores.pseudo[scores.pseudo_in], scores.null()).auc
        if auc > best_auc + 1e-9:
            best_a, best_auc = float(a), auc
    return best_a


@dataclass(frozen=True)
class OperatingPoint:
    """The attack run at a threshold fixed in advance for a requested FPR."""

    requested_fpr: float
    threshold: float
    tpr: Interval
    fpr: Interval
    measurable: bool  # the non-members suffice to observe this FPR at all
    ppv: float  # at the realistic member share
    ppv_low: float  # from the TPR lower and FPR upper bounds
    epsilon_lower_bound: float


@dataclass(frozen=True)
class GameResult:
    """Attack performance in one privacy game."""

    game: str  # "released-model" or "training-recipe"
    members: int
    nonmembers: int
    roc: Roc
    points: tuple[OperatingPoint, ...]
    roc_tpr: dict[float, float]  # step-rule TPR at each requested FPR, for comparison

    def point(self, fpr: float) -> OperatingPoint:
        return next(p for p in self.points if math.isclose(p.requested_fpr, fpr))


def _operating_point(
    fpr_level: float,
    threshold: float,
    member_scores: FloatArray,
    nonmember_scores: FloatArray,
    member_threshold: FloatArray,
    nonmember_threshold: FloatArray,
    member_share: float,
    epsilon_confidence: float,
    delta: float,
) -> OperatingPoint:
    tp = int(np.sum(member_scores > member_threshold))
    fp = int(np.sum(nonmember_scores > nonmember_threshold))
    tpr = metrics.clopper_pearson(tp, member_scores.size)
    fpr = metrics.clopper_pearson(fp, nonmember_scores.size)
    return OperatingPoint(
        requested_fpr=fpr_level,
        threshold=threshold,
        tpr=tpr,
        fpr=fpr,
        measurable=nonmember_scores.size >= metrics.min_nonmembers(fpr_level),
        ppv=metrics.ppv(tpr.value, fpr.value, member_share),
        ppv_low=metrics.ppv(tpr.low, fpr.high, member_share),
        epsilon_lower_bound=metrics.epsilon_lower_bound(
            tp,
            member_scores.size,
            fp,
            nonmember_scores.size,
            delta=delta,
            confidence=epsilon_confidence,
        ),
    )


def evaluate_released(
    scores: AttackScores,
    patient_member: BoolArray,
    fprs: Sequence[float],
    *,
    member_share: float,
    epsilon_confidence: float = 0.95,
    delta: float = 0.0,
) -> GameResult:
    """Evaluate the attack on the audited model at thresholds set from the pseudo-targets."""
    if scores.target is None:
        raise ValueError("no audited-model scores to evaluate")
    members = scores.target[patient_member]
    nonmembers = scores.target[~patient_member]
    null = scores.null()
    points = []
    for level in fprs:
        threshold = metrics.threshold_at_fpr(null, level)
        points.append(
            _operating_point(
                level,
                threshold,
                members,
                nonmembers,
                np.full(members.size, threshold),
                np.full(nonmembers.size, threshold),
                member_share,
                epsilon_confidence,
                delta,
            )
        )
    curve = metrics.roc(members, nonmembers)
    return GameResult(
        game="released-model",
        members=int(members.size),
        nonmembers=int(nonmembers.size),
        roc=curve,
        points=tuple(points),
        roc_tpr={level: metrics.tpr_at_fpr_from_roc(curve, level) for level in fprs},
    )


def evaluate_recipe(
    scores: AttackScores,
    fprs: Sequence[float],
    *,
    member_share: float,
    epsilon_confidence: float = 0.95,
    delta: float = 0.0,
) -> GameResult:
    """Evaluate the attack over the pseudo-targets, pooled.

    Each pseudo-target's thresholds come from the other pseudo-targets' non-member scores,
    so no pseudo-target is judged with a threshold fitted to its own labels.
    """
    count = scores.pseudo.shape[0]
    if count < 2:
        raise InputError("the training-recipe game needs at least 2 reference models.")
    members = scores.pseudo[scores.pseudo_in]
    nonmembers = scores.pseudo[~scores.pseudo_in]
    points = []
    for level in fprs:
        per_model = np.array(
            [metrics.threshold_at_fpr(scores.null(k), level) for k in range(count)]
        )
        # Broadcast each pseudo-target's threshold to its own members and non-members.
        grid = np.broadcast_to(per_model[:, None], scores.pseudo.shape)
        points.append(
            _operating_point(
                level,
                float(np.median(per_model)),
                members,
                nonmembers,
                grid[scores.pseudo_in],
                grid[~scores.pseudo_in],
                member_share,
                epsilon_confidence,
                delta,
            )
        )
    curve = metrics.roc(members, nonmembers)
    return GameResult(
        game="training-recipe",
        members=int(members.size),
        nonmembers=int(nonmembers.size),
        roc=curve,
        points=tuple(points),
        roc_tpr={level: metrics.tpr_at_fpr_from_roc(curve, level) for level in fprs},
    )


def check_fpr_resolution(nonmembers: int, fprs: Sequence[float], what: str) -> None:
    """Raise when `nonmembers` cannot show a false positive at some requested FPR."""
    for level in fprs:
        needed = metrics.min_nonmembers(level)
        if nonmembers < needed:
            raise InputError(
                f"too few non-members for FPR {level:g}: {what} has {nonmembers} non-member "
                f"evaluations, and an FPR of {level:g} needs at least {needed} (10x that for a "
                "usable confidence interval). Add held-out patients, train more reference "
                "models (--references), or drop this level from --fpr."
            )


@dataclass(frozen=True)
class RecipeAudit:
    """Result of `membership_attack`: attacks on models trained with one recipe."""

    results: dict[str, GameResult]
    utility: float  # mean accuracy of the models on the patients they were not trained on
    n_models: int
    fprs: tuple[float, ...]
    params: AttackParams
    description: str
    scores: dict[str, AttackScores] = field(repr=False, default_factory=dict)

    def best_tpr(self, fpr: float) -> tuple[str, OperatingPoint]:
        """Return the attack with the highest TPR at the threshold fixed for `fpr`."""
        name = max(self.results, key=lambda a: self.results[a].point(fpr).tpr.value)
        return name, self.results[name].point(fpr)


def membership_attack(
    model_factory: Callable[[], Any],
    X_pool: pd.DataFrame | NDArray[Any],
    y_pool: NDArray[Any],
    groups: NDArray[Any] | None = None,
    *,
    n_reference: int = 16,
    attacks: Sequence[str] = ATTACKS,
    fprs: Sequence[float] = DEFAULT_FPRS,
    fraction: float = 0.5,
    member_share: float = 0.5,
    seed: int = 0,
    n_jobs: int = -1,
    cache_dir: Path | None = None,
    description: str = "",
) -> RecipeAudit:
    """Measure how well membership can be inferred from models built by `model_factory`.

    This is the training-recipe privacy game. `model_factory()` returns an unfitted model
    with `fit(X, y)` and `predict_proba(X)` (and `classes_`), as scikit-learn estimators
    do. `groups` holds one patient id per row of `X_pool` (None: one patient per row).
    `n_reference` models are trained, each on a random `fraction` of the patients, in
    parallel on `n_jobs` processes, and `cache_dir` makes the training resumable. Each model is then
    attacked in turn with the other models as references, and the attacks' results are
    pooled: TPR at each FPR in `fprs` at a threshold fixed from the other models, with
    Clopper-Pearson intervals, AUC, membership advantage, PPV at `member_share`, and an
    empirical epsilon lower bound. `utility` is the models' mean accuracy on the patients
    they did not see, for privacy-utility trade-offs.

    Raises InputError when fewer than 1/fpr non-member evaluations exist for some FPR.

    Example, comparing an overfit and a regularised forest:

        audit = membership_attack(lambda: RandomForestClassifier(min_samples_leaf=1), X, y)
        name, point = audit.best_tpr(0.01)
        print(name, point.tpr.value, point.tpr.low, point.tpr.high, audit.utility)
    """
    y = np.asarray(y_pool)
    if len(y) != len(X_pool):
        raise InputError(f"X_pool has {len(X_pool)} rows but y_pool has {len(y)}.")
    raw_groups = np.arange(len(y)) if groups is None else np.asarray(groups)
    if len(raw_groups) != len(y):
        raise InputError(f"groups has {len(raw_groups)} entries for {len(y)} rows.")
    codes, _ = pd.factorize(pd.Series(raw_groups).astype(str), sort=True)
    patient_index = codes.astype(np.int64)
    n_patients = int(patient_index.max()) + 1
    out_per_model = n_patients - round(fraction * n_patients)
    check_fpr_resolution(
        n_reference * out_per_model, fprs, f"{n_reference} reference models x {out_per_model}"
    )

    recipe = CallableRecipe(model_factory, description)
    refs = train_references(
        recipe,
        X_pool,
        y,
        patient_index,
        n_models=n_reference,
        fraction=fraction,
        seed=seed,
        n_jobs=n_jobs,
        cache_dir=cache_dir,
    )
    params = AttackParams(prob_clip=choose_prob_clip(refs.true_prob))
    if "rmia-offline" in attacks:
        params = replace(params, rmia_a=tune_rmia_a(refs, patient_index, params))
    results: dict[str, GameResult] = {}
    all_scores: dict[str, AttackScores] = {}
    confidence = 1.0 - 0.05 / (len(attacks) * len(fprs))
    for attack in attacks:
        scores = score_attack(attack, refs, patient_index, None, params)
        all_scores[attack] = scores
        results[attack] = evaluate_recipe(
            scores, fprs, member_share=member_share, epsilon_confidence=confidence
        )
    return RecipeAudit(
        results=results,
        utility=refs.out_accuracy(),
        n_models=n_reference,
        fprs=tuple(fprs),
        params=params,
        description=recipe.description,
        scores=all_scores,
    )
