"""Privacy-utility trade-off of mitigations: utility against attack TPR at low FPR.

A manufacturer choosing between DP training at some ε and plain regularisation needs both
costs side by side. One is the diagnostic performance lost. The other is the membership
leakage that remains for an attacker who picks out patients with few false alarms. For each training
variant (see `nemecys.mlaudit.dp`) this module retrains the model on random halves of the
data, attacks every model, and pools the scores.

Two ways to attack:

* `run_tradeoff` takes any attack callable
  `attack(model, member_X, member_y, nonmember_X, nonmember_y) -> (scores, is_member)` and a
  utility callable `utility(model, X, y) -> float` evaluated on the held-out half.
  Scores of all repetitions are pooled, and the threshold for each FPR is set on the pooled
  non-member scores (the ROC step rule: at most ⌊FPR·n⌋ non-members score above it).
* `run_recipe_tradeoff` runs the project's reference-model attacks (LOSS, LiRA, RMIA) through
  `nemecys.mlaudit.attacks.membership_attack`, whose thresholds come from other reference
  models, and reports the strongest attack at each FPR.

For a DP variant each point also carries the largest TPR that (ε, δ)-DP allows at the upper
confidence bound of the measured FPR. A measurement above it shows at a glance that the DP
claim or its implementation is wrong. `plot_tradeoff` draws the result as an SVG file.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nemecys.mlaudit import metrics
from nemecys.mlaudit.analytic import dp_tpr_bound
from nemecys.mlaudit.dp import Mitigation, TrainingVariant
from nemecys.mlaudit.metrics import Interval
from nemecys.mlaudit.models import probability_of_labels

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

AttackFn = Callable[[Any, Any, Any, Any, Any], tuple[ArrayLike, ArrayLike]]
UtilityFn = Callable[[Any, Any, Any], float]

DEFAULT_FPRS = (0.001, 0.01)
RECIPE_ATTACKS = ("loss", "lira-online-fixed-var", "lira-offline-fixed-var", "rmia-offline")


def accuracy(model: Any, X: Any, y: Any) -> float:
    """Return the share of rows whose predicted class equals the label."""
    return float(np.mean(np.asarray(model.predict(X)) == np.asarray(y)))


def loss_attack(
    model: Any, member_X: Any, member_y: Any, nonmember_X: Any, nonmember_y: Any
) -> tuple[FloatArray, BoolArray]:
    """Score each record by the model's log-probability of its true label (Yeom et al. 2018).

    The simplest black-box attack: training records tend to get a higher probability of
    their own label. Probabilities are clipped at 1e-12 before the logarithm.
    """
    scores = []
    for X, y in ((member_X, member_y), (nonmember_X, nonmember_y)):
        labels = np.asarray(y)
        proba = np.asarray(model.predict_proba(X), dtype=np.float64)
        true_prob = probability_of_labels(proba, np.asarray(model.classes_), labels)
        scores.append(np.log(np.clip(true_prob, 1e-12, 1.0)))
    is_member = np.concatenate([np.ones(len(scores[0]), bool), np.zeros(len(scores[1]), bool)])
    return np.concatenate(scores), is_member


@dataclass(frozen=True)
class RatePoint:
    """Attack TPR, with its Clopper-Pearson interval, at one requested FPR."""

    fpr: float
    tpr: Interval
    measured_fpr: Interval
    allowed_tpr: float | None  # DP bound at measured_fpr.high; None without a DP claim

    @property
    def exceeds_dp_bound(self) -> bool:
        """True when even the TPR lower bound is above what the DP claim allows."""
        return self.allowed_tpr is not None and self.tpr.low > self.allowed_tpr


@dataclass(frozen=True)
class TradeoffPoint:
    """Utility and attack success of one training variant, with the pooled attack scores."""

    label: str
    family: str
    mitigation: Mitigation
    parameter: float | None
    epsilon: float | None
    delta: float
    utility: float  # mean over repetitions or models
    utility_std: float
    rates: tuple[RatePoint, ...]
    auc: float
    members: int
    nonmembers: int
    attack: str  # the attack behind the rates; for recipe audits the strongest at the first FPR
    seconds: float
    member_scores: FloatArray = field(
        repr=False, compare=False, default_factory=lambda: np.empty(0)
    )
    nonmember_scores: FloatArray = field(
        repr=False, compare=False, default_factory=lambda: np.empty(0)
    )

    def at(self, fpr: float) -> RatePoint:
        """Return the rate point for a requested FPR."""
        for point in self.rates:
            if math.isclose(point.fpr, fpr):
                return point
        raise KeyError(f"no result at FPR {fpr}; measured at {[p.fpr for p in self.rates]}")


@dataclass(frozen=True)
class TradeoffResult:
    """Points of a trade-off run and how they were measured."""

    points: tuple[TradeoffPoint, ...]
    utility_name: str
    fprs: tuple[float, ...]
    repeats: int
    game: str  # "random-split" for run_tradeoff, "training-recipe" for run_recipe_tradeoff


def _rate_point(
    variant: TrainingVariant, fpr: float, tp: int, members: int, fp: int, nonmembers: int
) -> RatePoint:
    measured = metrics.clopper_pearson(fp, nonmembers)
    allowed = None
    if variant.epsilon is not None:
        allowed = float(dp_tpr_bound(measured.high, variant.epsilon, variant.delta))
    return RatePoint(fpr, metrics.clopper_pearson(tp, members), measured, allowed)


def _split(n_rows: int, member_fraction: float, rng: np.random.Generator) -> BoolArray:
    members = rng.permutation(n_rows) < round(member_fraction * n_rows)
    return np.asarray(members, dtype=bool)


def _take(X: Any, rows: NDArray[np.bool_]) -> Any:
    return X.loc[rows] if hasattr(X, "loc") else np.asarray(X)[rows]


def run_tradeoff(
    variants: Sequence[TrainingVariant],
    X: Any,
    y: ArrayLike,
    attack: AttackFn,
    *,
    utility: UtilityFn = accuracy,
    utility_name: str = "accuracy",
    attack_name: str = "",
    repeats: int = 8,
    fprs: Sequence[float] = DEFAULT_FPRS,
    member_fraction: float = 0.5,
    seed: int = 0,
) -> TradeoffResult:
    """Retrain each variant `repeats` times on random splits, attack it and measure utility.

    Every repetition draws `member_fraction` of the rows as training set (members); the
    rest are the non-members and the test set for `utility`. The same splits and training
    seeds are used for every variant, so differences between variants are not split noise,
    and the same `seed` gives the same result.
    """
    labels = np.asarray(y)
    if len(labels) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(labels)}")
    if repeats < 1 or not 0.0 < member_fraction < 1.0:
        raise ValueError(
            f"need repeats >= 1 and 0 < member_fraction < 1, got {repeats}, {member_fraction}"
        )
    rng = np.random.default_rng(seed)
    splits = [_split(len(labels), member_fraction, rng) for _ in range(repeats)]
    # One training seed per repetition, shared by all variants like the splits.
    model_seeds = [int(value) for value in rng.integers(0, 2**31 - 1, size=repeats)]
    name = attack_name or getattr(attack, "__name__", "attack")

    points = []
    for variant in variants:
        started = time.perf_counter()
        member_scores: list[FloatArray] = []
        nonmember_scores: list[FloatArray] = []
        utilities = []
        for member, model_seed in zip(splits, model_seeds, strict=True):
            model = variant.build(random_state=model_seed)
            model.fit(_take(X, member), labels[member])
            held_out = _take(X, ~member)
            raw_scores, raw_is_member = attack(
                model, _take(X, member), labels[member], held_out, labels[~member]
            )
            scores = np.asarray(raw_scores, dtype=np.float64)
            is_member = np.asarray(raw_is_member, dtype=bool)
            member_scores.append(scores[is_member])
            nonmember_scores.append(scores[~is_member])
            utilities.append(utility(model, held_out, labels[~member]))
        points.append(
            _pooled_point(
                variant,
                np.concatenate(member_scores),
                np.concatenate(nonmember_scores),
                utilities,
                fprs,
                name,
                time.perf_counter() - started,
            )
        )
        logger.info("trade-off: %s done in %.1f s", variant.description, points[-1].seconds)
    return TradeoffResult(tuple(points), utility_name, tuple(fprs), repeats, "random-split")


def _pooled_point(
    variant: TrainingVariant,
    members: FloatArray,
    nonmembers: FloatArray,
    utilities: list[float],
    fprs: Sequence[float],
    attack_name: str,
    seconds: float,
) -> TradeoffPoint:
    rates = []
    for fpr in fprs:
        threshold = metrics.threshold_at_fpr(nonmembers, fpr)
        tp = int(np.count_nonzero(members > threshold))
        fp = int(np.count_nonzero(nonmembers > threshold))
        rates.append(_rate_point(variant, fpr, tp, members.size, fp, nonmembers.size))
    return TradeoffPoint(
        label=variant.label,
        family=variant.family,
        mitigation=variant.mitigation,
        parameter=variant.parameter,
        epsilon=variant.epsilon,
        delta=variant.delta,
        utility=float(np.mean(utilities)),
        utility_std=float(np.std(utilities)),
        rates=tuple(rates),
        auc=metrics.roc(members, nonmembers).auc,
        members=int(members.size),
        nonmembers=int(nonmembers.size),
        attack=attack_name,
        seconds=seconds,
        member_scores=members,
        nonmember_scores=nonmembers,
    )


def run_recipe_tradeoff(
    variants: Sequence[TrainingVariant],
    X: Any,
    y: ArrayLike,
    *,
    n_reference: int = 16,
    attacks: Sequence[str] = RECIPE_ATTACKS,
    fprs: Sequence[float] = DEFAULT_FPRS,
    seed: int = 0,
    n_jobs: int = 1,
) -> TradeoffResult:
    """Audit each variant's training recipe with LOSS, LiRA and RMIA on reference models.

    Each variant trains `n_reference` models on random halves of the rows. Every model is
    attacked with the others as references, at thresholds fixed from the others' non-members.
    Utility is the models' accuracy on the rows they did not see. The TPR reported at each
    FPR is the strongest attack's; `TradeoffPoint.attack` names the strongest at the first FPR.

    NOTE: `membership_attack` builds every model with `variant.build()`, so a variant without
    `random_state` (the default) draws fresh DP noise or forest randomness in each run, and
    its results are not reproducible. `run_tradeoff` seeds each training.
    """
    from nemecys.mlaudit.attacks import membership_attack

    points = []
    for variant in variants:
        started = time.perf_counter()
        audit = membership_attack(
            variant.build,
            X,
            np.asarray(y),
            n_reference=n_reference,
            attacks=attacks,
            fprs=fprs,
            seed=seed,
            n_jobs=n_jobs,
            description=variant.description,
        )
        rates = []
        for fpr in fprs:
            _, best = audit.best_tpr(fpr)
            rates.append(
                _rate_point(
                    variant, fpr, best.tpr.hits, best.tpr.trials, best.fpr.hits, best.fpr.trials
                )
            )
        strongest, _ = audit.best_tpr(fprs[0])
        result = audit.results[strongest]
        scores = audit.scores[strongest]
        points.append(
            TradeoffPoint(
                label=variant.label,
                family=variant.family,
                mitigation=variant.mitigation,
                parameter=variant.parameter,
                epsilon=variant.epsilon,
                delta=variant.delta,
                utility=audit.utility,
                utility_std=math.nan,
                rates=tuple(rates),
                auc=result.roc.auc,
                members=result.members,
                nonmembers=result.nonmembers,
                attack=strongest,
                seconds=time.perf_counter() - started,
                member_scores=scores.pseudo[scores.pseudo_in],
                nonmember_scores=scores.pseudo[~scores.pseudo_in],
            )
        )
        logger.info("recipe trade-off: %s done in %.1f s", variant.description, points[-1].seconds)
    return TradeoffResult(tuple(points), "accuracy", tuple(fprs), n_reference, "training-recipe")


MITIGATION_STYLE = {
    "none": ("black", "s"),
    "dp": ("tab:blue", "o"),
    "regularisation": ("tab:orange", "^"),
}


def plot_tradeoff(result: TradeoffResult, path: Path, *, title: str = "") -> Path:
    """Write an SVG with one panel per FPR: utility against attack TPR, with 95 % intervals.

    Each DP point's bound (the largest TPR its ε allows) is drawn as a hollow marker at the
    same utility. The dotted vertical line is TPR = FPR, what an attack without signal gets.
    """
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with rc_context({"svg.hashsalt": "nemecys", "svg.fonttype": "none"}):
        figure = Figure(figsize=(5.0 * len(result.fprs), 4.2), layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.subplots(1, len(result.fprs), squeeze=False)[0]
        for axis, fpr in zip(axes, result.fprs, strict=True):
            _draw_panel(axis, result, fpr)
        if title:
            figure.suptitle(title)
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="svg", metadata={"Date": None})
    return path


def _draw_panel(axis: Any, result: TradeoffResult, fpr: float) -> None:
    for mitigation, (colour, marker) in MITIGATION_STYLE.items():
        points = [p for p in result.points if p.mitigation == mitigation]
        if not points:
            continue
        tpr = np.array([p.at(fpr).tpr.value for p in points])
        low = np.array([p.at(fpr).tpr.low for p in points])
        high = np.array([p.at(fpr).tpr.high for p in points])
        utility = np.array([p.utility for p in points])
        spread = np.array([0.0 if math.isnan(p.utility_std) else p.utility_std for p in points])
        axis.errorbar(
            tpr,
            utility,
            xerr=[tpr - low, high - tpr],
            yerr=spread,
            fmt=marker,
            color=colour,
            label=mitigation,
            capsize=2,
            linestyle="-" if len(points) > 1 else "none",
        )
        for point, x, y_value in zip(points, tpr, utility, strict=True):
            if mitigation == "dp":
                text = f"ε={point.parameter:g}"
            elif mitigation == "regularisation":
                text = f"{point.parameter:g}"
            else:
                text = point.label
            axis.annotate(text, (x, y_value), textcoords="offset points", xytext=(4, 4), fontsize=7)
        bounds = [(p.at(fpr).allowed_tpr, p.utility) for p in points if p.at(fpr).allowed_tpr]
        if bounds:
            axis.scatter(
                [min(b[0] or 0.0, 1.0) for b in bounds],
                [b[1] for b in bounds],
                facecolors="none",
                edgecolors=colour,
                marker=marker,
                label="DP bound on TPR",
            )
    axis.axvline(fpr, color="grey", linestyle=":", linewidth=1, label="no leakage (TPR = FPR)")
    axis.set_xscale("symlog", linthresh=max(fpr, 1e-4))
    axis.set_xlim(0.0, 1.0)
    axis.set_xlabel(f"attack TPR at {fpr:.1%} FPR (95 % CI)")
    axis.set_ylabel(result.utility_name)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, loc="lower right")
