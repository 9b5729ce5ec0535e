"""Write the audit as a self-contained HTML page and a JSON document.

The HTML inlines its CSS and SVG figures and loads nothing from elsewhere, so it can be
archived in a design history file. It is rendered from `templates/ml_audit.html.j2` with
autoescaping on; only the SVG made by matplotlib is passed in unescaped.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from nemecys import __version__
from nemecys.fileio import write_atomic
from nemecys.mlaudit import metrics, plots
from nemecys.mlaudit.attacks import GameResult
from nemecys.mlaudit.audit import AuditResult, summary_rows

RESULTS_VERSION = "1.0"


def _percent(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value * 100:.2f} %"


def _p_value(value: float) -> str:
    # The normal approximation underflows to 0 for large samples.
    return "< 1e-300" if value < 1e-300 else f"{value:.2g}"


def _game_rows(result: AuditResult, game: str) -> list[dict[str, Any]]:
    rows = []
    for name, outcome in result.attacks.items():
        selected = outcome.released if game == "released-model" else outcome.recipe
        if selected is None:
            continue
        cells = [
            {
                "measurable": point.measurable,
                "needed": metrics.min_nonmembers(point.requested_fpr),
                "tpr": _percent(point.tpr.value),
                "tpr_low": _percent(point.tpr.low),
                "tpr_high": _percent(point.tpr.high),
                "fpr": _percent(point.fpr.value),
                "ppv": f"{_percent(point.ppv)} / {_percent(point.ppv_low)}",
                "epsilon": f"{point.epsilon_lower_bound:.2f}",
            }
            for point in selected.points
        ]
        rows.append(
            {
                "name": name,
                "auc": selected.roc.auc,
                "auc_p": _p_value(selected.roc.auc_p_value),
                "advantage": selected.roc.max_advantage,
                "cells": cells,
            }
        )
    return rows


def _games(result: AuditResult, name: str) -> dict[str, GameResult]:
    games: dict[str, GameResult] = {}
    for attack, outcome in result.attacks.items():
        game = outcome.released if name == "released-model" else outcome.recipe
        if game is not None:
            games[attack] = game
    return games


def _plain_statement(result: AuditResult) -> str:
    """Return the verdict in the words a notified body reads."""
    point = result.verdict.point
    one_in = round(1 / point.requested_fpr)
    subject = (
        "the patients whose records trained the model"
        if result.verdict.game == "released-model"
        else "the training patients of models trained with this recipe on this population"
    )
    return (
        f"If an attacker accepts wrongly flagging at most 1 in {one_in:,} people who were not "
        f"in the training data, they correctly identify {_percent(point.tpr.value)} "
        f"(95 % CI {_percent(point.tpr.low)} to {_percent(point.tpr.high)}) of {subject}."
    )


def _attribute_rows(result: AuditResult) -> list[dict[str, str]]:
    def share(interval: metrics.Interval) -> str:
        return f"{_percent(interval.value)} [{_percent(interval.low)}, {_percent(interval.high)}]"

    return [
        {
            "attribute": a.attribute + (" (quantile bins)" if a.binned else ""),
            "candidates": ", ".join(a.candidates),
            "attack_members": share(a.attack_members),
            "attack_nonmembers": share(a.attack_nonmembers),
            "baseline_members": share(a.baseline_members),
            "baseline_nonmembers": share(a.baseline_nonmembers),
            "gain": f"{a.gain_over_baseline * 100:+.2f} pp",
            "risk_ratio": f"{a.risk_ratio:.3f}",
            "p": f"{a.gap_p_value:.2g}",
            "leaks": "yes" if a.leaks else "no",
        }
        for a in result.attributes
    ]


def render_html(
    result: AuditResult, tradeoff_svg: str | None = None, tradeoff_caption: str = ""
) -> str:
    """Render the HTML report."""
    config = result.config
    data = result.data
    outcome = result.attacks[result.strongest]
    assert outcome.p_values is not None
    member_p = outcome.p_values[data.patient_member]
    nonmember_p = outcome.p_values[~data.patient_member]
    n_null = outcome.scores.null().size
    floor = 1.0 / max(n_null, 1)

    released = _games(result, "released-model")
    recipe = _games(result, "training-recipe")
    first = next(iter(released.values()))
    first_recipe = next(iter(recipe.values()))
    roc_figures = [
        {
            "svg": Markup(
                plots.roc_figure(
                    released, "Released model", max(floor, 1 / (10 * first.nonmembers))
                )
            ),
            "caption": (
                f"Log-log ROC of each attack on the released model ({first.members} training, "
                f"{first.nonmembers} held-out patients). Dots: thresholds fixed from the reference "
                "models, with 95 % intervals on TPR. Below 1/non-members the curve carries no information."
            ),
        },
        {
            "svg": Markup(
                plots.roc_figure(recipe, "Training recipe (pooled reference models)", floor)
            ),
            "caption": (
                f"Log-log ROC pooled over {config.references} reference models attacked in turn "
                f"({first_recipe.nonmembers} non-member evaluations)."
            ),
        },
    ]
    ppv_game = "released model" if result.verdict.game == "released-model" else "training recipe"
    ppv_games = released if result.verdict.game == "released-model" else recipe

    env = Environment(
        loader=PackageLoader("nemecys.mlaudit", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
    )
    template = env.get_template("ml_audit.html.j2")
    return template.render(
        version=__version__,
        model=result.model_description,
        recipe=result.recipe_description,
        train=str(config.train),
        heldout=str(config.heldout),
        members=int(data.patient_member.sum()),
        nonmembers=int((~data.patient_member).sum()),
        member_rows=int(data.member.sum()),
        nonmember_rows=int((~data.member).sum()),
        patient_id=data.patient_id,
        label=data.label,
        n_features=len(data.features),
        acc_members=result.target_accuracy["members"],
        acc_nonmembers=result.target_accuracy["nonmembers"],
        ref_accuracy=result.reference_accuracy,
        references=config.references,
        fraction=config.fraction,
        prob_clip=result.params.prob_clip,
        rmia_a=result.params.rmia_a,
        gamma=result.params.rmia_gamma,
        verdict=result.verdict,
        plain_statement=_plain_statement(result),
        notes=result.notes,
        member_share=config.member_share,
        delta=config.delta,
        fprs=config.fprs,
        games=[
            {
                "title": "Released model",
                "description": "The audited model; members are its real training patients.",
                "rows": _game_rows(result, "released-model"),
                "nonmembers": first.nonmembers,
            },
            {
                "title": "Training recipe",
                "description": (
                    "Each reference model attacked in turn; its threshold comes from the other "
                    "reference models."
                ),
                "rows": _game_rows(result, "training-recipe"),
                "nonmembers": first_recipe.nonmembers,
            },
        ],
        strongest=result.strongest,
        roc_figures=roc_figures,
        exposed_001=int(np.sum(member_p <= 0.001)),
        exposed_01=int(np.sum(member_p <= 0.01)),
        heldout_001=int(np.sum(nonmember_p <= 0.001)),
        heldout_01=int(np.sum(nonmember_p <= 0.01)),
        risk_svg=Markup(
            plots.risk_histogram(member_p, nonmember_p, result.strongest, [0.01, 0.001])
        ),
        top_exposed=result.top_exposed(),
        p_floor=1.0 / (1 + n_null),
        ppv_svg=Markup(plots.ppv_figure(ppv_games, config.verdict_fpr, config.member_share)),
        ppv_game=ppv_game,
        verdict_fpr=config.verdict_fpr,
        tradeoff_svg=Markup(tradeoff_svg) if tradeoff_svg else None,
        tradeoff_caption=tradeoff_caption,
        attributes=_attribute_rows(result),
        distribution=result.distribution,
        excluded=data.excluded_duplicates,
        recipe_nonmembers=first_recipe.nonmembers,
    )


def _clean(value: Any) -> Any:
    """Make a value JSON-safe: NaN and infinity become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        return _clean(value.item())
    return value


def results_document(result: AuditResult, tradeoff: Any = None) -> dict[str, Any]:
    """Build the JSON results: configuration, data summary, every attack result, verdict."""
    config = result.config
    data = result.data
    verdict = result.verdict
    document: dict[str, Any] = {
        "results_version": RESULTS_VERSION,
        "nemecys_version": __version__,
        "model": result.model_description,
        "reference_recipe": result.recipe_description,
        "config": {
            "train": str(config.train),
            "heldout": str(config.heldout),
            "patient_id": config.patient_id,
            "label": config.label,
            "features": list(data.features),
            "references": config.references,
            "fraction": config.fraction,
            "seed": config.seed,
            "attacks": list(config.attacks),
            "fprs": list(config.fprs),
            "member_share": config.member_share,
            "delta": config.delta,
            "verdict_fpr": config.verdict_fpr,
            "max_tpr": config.max_tpr,
        },
        "attack_parameters": {
            "prob_clip": result.params.prob_clip,
            "rmia_a": result.params.rmia_a,
            "rmia_gamma": result.params.rmia_gamma,
        },
        "data": {
            "member_patients": int(data.patient_member.sum()),
            "nonmember_patients": int((~data.patient_member).sum()),
            "member_rows": int(data.member.sum()),
            "nonmember_rows": int((~data.member).sum()),
            "excluded_patients": data.excluded_duplicates,
            "distribution_check": None
            if result.distribution is None
            else {
                "auc": result.distribution.auc,
                "p_value": result.distribution.p_value,
                "shifted": result.distribution.shifted,
            },
        },
        "model_accuracy": result.target_accuracy,
        "reference_accuracy": result.reference_accuracy,
        "verdict": {
            "outcome": verdict.outcome,
            "attack": verdict.attack,
            "game": verdict.game,
            "fpr": verdict.point.requested_fpr,
            "tpr": verdict.point.tpr.value,
            "tpr_ci": [verdict.point.tpr.low, verdict.point.tpr.high],
            "max_tpr": verdict.max_tpr,
            "explanation": verdict.explanation,
            "statement": _plain_statement(result),
        },
        "strongest_attack": result.strongest,
        "membership": summary_rows(result),
        "most_exposed_patients": result.top_exposed(),
        "attribute_inference": [
            {
                "attribute": a.attribute,
                "binned": a.binned,
                "candidates": list(a.candidates),
                "attack_members": a.attack_members.value,
                "attack_nonmembers": a.attack_nonmembers.value,
                "baseline_members": a.baseline_members.value,
                "baseline_nonmembers": a.baseline_nonmembers.value,
                "gain_over_baseline": a.gain_over_baseline,
                "risk_ratio": a.risk_ratio,
                "gap_p_value": a.gap_p_value,
                "leaks": a.leaks,
            }
            for a in result.attributes
        ],
        "notes": list(result.notes),
    }
    if tradeoff is not None:
        document["dp_tradeoff"] = tradeoff
    return _clean(document)  # type: ignore[no-any-return]


def write_report(
    result: AuditResult,
    output: Path,
    *,
    tradeoff_svg: str | None = None,
    tradeoff_caption: str = "",
    tradeoff: Any = None,
) -> list[Path]:
    """Write ml-audit.html and ml-audit.json into `output`; return the paths."""
    html = render_html(result, tradeoff_svg, tradeoff_caption)
    document = results_document(result, tradeoff)
    return [
        write_atomic(output / "ml-audit.html", html),
        write_atomic(output / "ml-audit.json", json.dumps(document, indent=2) + "\n"),
    ]
