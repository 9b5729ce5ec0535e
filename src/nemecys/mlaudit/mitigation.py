"""Connect the audit to the differential-privacy trade-off of `nemecys.mlaudit.tradeoff`.

`nemecys ml-audit --dp-epsilons 0.5,1,2,4,8` retrains the audited model's family without
mitigation and with DP at each ε, attacks every recipe with the reference-model attacks and
puts utility against TPR at low FPR into the report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nemecys.errors import InputError
from nemecys.mlaudit.audit import AuditResult

# The DP feature bounds are read from the pool, widened by this share of each range.
BOUNDS_MARGIN = 0.1


@dataclass(frozen=True)
class TradeoffSection:
    """Figure, caption and JSON summary of a trade-off run, for the report."""

    svg: str
    caption: str
    document: dict[str, Any]


def family_of(estimator: Any) -> str | None:
    """Return the `nemecys.mlaudit.dp` family of a fitted scikit-learn model, if any."""
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    names = {
        "RandomForestClassifier": "random_forest",
        "LogisticRegression": "logistic_regression",
        "GaussianNB": "gaussian_nb",
    }
    return names.get(type(final).__name__)


def run_dp_tradeoff(
    result: AuditResult, epsilons: tuple[float, ...], family: str | None, output: Path
) -> TradeoffSection:
    """Run the trade-off for `family` (default: the audited model's) and draw it."""
    from nemecys.mlaudit import dp, tradeoff

    config = result.config
    data = result.data
    if family is None:
        estimator = None
        if config.model is not None:
            from nemecys.mlaudit.models import load_model

            model = load_model(config.model, unsafe_load=config.unsafe_load)
            estimator = getattr(model, "estimator", None)
        family = family_of(estimator) if estimator is not None else None
        if family is None:
            raise InputError(
                "the DP trade-off retrains a random forest, logistic regression or Gaussian naive "
                f"Bayes model; the audited model ({result.model_description}) is none of these. "
                f"Choose one with --dp-family ({', '.join(dp.FAMILIES)})."
            )
    if family not in dp.FAMILIES:
        raise InputError(
            f"unknown --dp-family '{family}'; expected one of {', '.join(dp.FAMILIES)}."
        )
    if any(not eps > 0 or math.isinf(eps) for eps in epsilons):
        raise InputError(
            f"invalid --dp-epsilons {list(epsilons)}: each must be positive and finite."
        )

    X = data.X.to_numpy(dtype=np.float64)
    y = data.y
    classes = sorted(set(y.tolist()), key=str)
    # NOTE: bounds read from the pool leak the feature ranges. A production DP claim needs
    # bounds from the device's measuring range or a clinical reference range.
    bounds = dp.FeatureBounds.from_data(X, margin=BOUNDS_MARGIN)
    variants = [
        dp.baseline_variant(family, bounds=bounds),
        *dp.dp_variants(family, epsilons, bounds, classes),
    ]
    run = tradeoff.run_recipe_tradeoff(
        variants,
        X,
        y,
        n_reference=config.references,
        fprs=config.fprs,
        seed=config.seed,
        n_jobs=config.n_jobs,
    )
    path = tradeoff.plot_tradeoff(run, output / "dp-tradeoff.svg", title=f"{family}: DP trade-off")
    svg = path.read_text(encoding="utf-8")
    caption = (
        f"Accuracy of {family} models trained without mitigation and with differential privacy "
        f"at ε = {', '.join(f'{e:g}' for e in sorted(epsilons))}, against the strongest "
        f"attack's TPR (training-recipe game, {config.references} models per recipe; each row "
        "counts as one patient here). Hollow markers: the largest TPR the DP guarantee allows. Feature bounds "
        f"were read from the pooled data with a {BOUNDS_MARGIN:.0%} margin, which a "
        "production DP claim must not do."
    )
    document = {
        "family": family,
        "game": run.game,
        "models_per_recipe": run.repeats,
        "points": [
            {
                "label": point.label,
                "epsilon": point.epsilon,
                "utility": point.utility,
                "attack": point.attack,
                "auc": point.auc,
                "rates": [
                    {
                        "fpr": rate.fpr,
                        "tpr": rate.tpr.value,
                        "tpr_ci": [rate.tpr.low, rate.tpr.high],
                        "dp_allowed_tpr": rate.allowed_tpr,
                        "exceeds_dp_bound": rate.exceeds_dp_bound,
                    }
                    for rate in point.rates
                ],
            }
            for point in run.points
        ],
    }
    return TradeoffSection(svg[svg.index("<svg") :], caption, document)
