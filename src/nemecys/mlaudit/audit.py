"""Run a privacy audit of one released model and collect everything the report shows.

Two privacy games are evaluated. The released-model game attacks the model the
manufacturer ships, with its real training patients as members and the held-out patients as
non-members. The training-recipe game attacks each reference model in turn. Because it pools
many more non-member evaluations, it can measure TPR at 0.1 % FPR on data sets too small to
measure it for the released model alone. Thresholds in both games come from reference
models only.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nemecys.errors import InputError
from nemecys.mlaudit import metrics
from nemecys.mlaudit.attacks import (
    ATTACKS,
    DEFAULT_FPRS,
    AttackParams,
    AttackScores,
    GameResult,
    OperatingPoint,
    check_fpr_resolution,
    choose_prob_clip,
    evaluate_recipe,
    evaluate_released,
    score_attack,
    tune_rmia_a,
)
from nemecys.mlaudit.attribute import AttributeResult, attribute_inference
from nemecys.mlaudit.data import AuditData, build_pool, choose_features, read_table
from nemecys.mlaudit.models import (
    EstimatorModel,
    ProbabilisticModel,
    check_labels,
    load_model,
    probability_of_labels,
)
from nemecys.mlaudit.reference import (
    EstimatorRecipe,
    FactoryRecipe,
    Recipe,
    ReferenceOutputs,
    load_spec,
    train_references,
)

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
TOP_EXPOSED = 20


@dataclass(frozen=True)
class AuditConfig:
    """Settings of one audit, filled by the CLI from its options."""

    train: Path
    heldout: Path
    patient_id: str
    label: str
    model: Path | None = None
    outputs: Path | None = None  # per-record model outputs instead of a model file
    record_id: str | None = None  # joins `outputs` rows when a patient has several rows
    model_format: str | None = None
    unsafe_load: bool = False
    classes: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    reference_spec: Path | None = None
    reference_factory: str | None = None
    references: int = 16
    fraction: float = 0.5
    seed: int = 0
    n_jobs: int = -1
    cache_dir: Path | None = None
    attacks: tuple[str, ...] = ATTACKS
    fprs: tuple[float, ...] = DEFAULT_FPRS
    member_share: float = 0.01
    delta: float = 0.0
    sensitive: tuple[str, ...] = ()
    verdict_fpr: float = 0.001
    max_tpr: float = 0.01


@dataclass(frozen=True)
class Verdict:
    """The strongest attack's TPR at the verdict FPR against the user's limit."""

    outcome: str  # "pass", "fail" or "inconclusive"
    attack: str
    game: str
    point: OperatingPoint
    max_tpr: float

    @property
    def explanation(self) -> str:
        tpr = self.point.tpr
        where = "the released model" if self.game == "released-model" else "the training recipe"
        head = (
            f"At a false-positive rate fixed at {self.point.requested_fpr:.2%}, the strongest "
            f"attack ({self.attack}, on {where}) identified {tpr.value:.2%} "
            f"(95 % CI {tpr.low:.2%} to {tpr.high:.2%}) of the training patients; "
            f"the limit is {self.max_tpr:.2%}."
        )
        tail = {
            "pass": " The whole interval lies below the limit.",
            "fail": " The whole interval lies above the limit.",
            "inconclusive": (
                " The interval contains the limit: more held-out patients or reference "
                "models are needed to decide."
            ),
        }[self.outcome]
        return head + tail


@dataclass(frozen=True)
class AttackOutcome:
    """One attack's results in both games and its per-patient risk on the released model."""

    attack: str
    released: GameResult | None
    recipe: GameResult
    scores: AttackScores = field(repr=False)
    p_values: FloatArray | None = field(repr=False, default=None)  # per patient, released


@dataclass(frozen=True)
class DistributionCheck:
    """Result of separating training from held-out patients by their records, without the model."""

    auc: float
    p_value: float

    @property
    def shifted(self) -> bool:
        return self.p_value < 0.01 and self.auc > 0.55


@dataclass(frozen=True)
class AuditResult:
    """Everything the HTML and JSON reports show."""

    config: AuditConfig
    data: AuditData = field(repr=False)
    model_description: str
    recipe_description: str
    params: AttackParams
    attacks: dict[str, AttackOutcome]
    strongest: str  # chosen on the training-recipe game, without the audited model's labels
    verdict: Verdict
    target_accuracy: dict[str, float]  # on members and non-members
    reference_accuracy: float
    distribution: DistributionCheck | None
    attributes: tuple[AttributeResult, ...]
    notes: tuple[str, ...]
    tradeoff: Any = None  # results of the DP trade-off, when it was run

    def top_exposed(self, count: int = TOP_EXPOSED) -> list[dict[str, Any]]:
        """Training patients with the smallest per-patient p-value under the strongest attack."""
        outcome = self.attacks[self.strongest]
        if outcome.p_values is None or outcome.scores.target is None:
            return []
        members = np.flatnonzero(self.data.patient_member)
        # Lowest p-value first; ties (common at the p-value floor) by the higher score.
        ranking = np.lexsort((-outcome.scores.target[members], outcome.p_values[members]))
        order = members[ranking][:count]
        return [
            {
                "patient_id": str(self.data.patient_ids[i]),
                "p_value": float(outcome.p_values[i]),
                "score": float(outcome.scores.target[i]),
            }
            for i in order
        ]


def _load_target(config: AuditConfig) -> ProbabilisticModel | None:
    if config.model is None:
        return None
    return load_model(
        config.model,
        model_format=config.model_format,
        unsafe_load=config.unsafe_load,
        class_labels=config.classes,
    )


def _recipe(config: AuditConfig, model: ProbabilisticModel | None) -> Recipe:
    if config.reference_spec and config.reference_factory:
        raise InputError("give either --reference-spec or --reference-factory, not both.")
    if config.reference_spec:
        return load_spec(config.reference_spec)
    if config.reference_factory:
        return FactoryRecipe(config.reference_factory)
    if isinstance(model, EstimatorModel):
        return EstimatorRecipe(model.estimator)
    raise InputError(
        "reference models need the target's training recipe: this model format does not "
        "carry one, so pass --reference-spec SPEC.json or --reference-factory FILE.py:FUNCTION."
    )


def _outputs_probability(config: AuditConfig, data: AuditData) -> tuple[FloatArray, NDArray[Any]]:
    """Read per-record outputs (`prob_<class>` columns) and align them with the pool rows."""
    assert config.outputs is not None
    table = read_table(config.outputs)
    keys = [config.patient_id] + ([config.record_id] if config.record_id else [])
    missing = [k for k in keys if k not in table.columns or k not in data.frame.columns]
    if missing:
        raise InputError(
            f"key column(s) {missing} missing from the outputs table or the data; the outputs "
            "table needs the patient id (and --record-id when a patient has several rows)."
        )
    prob_columns = [c for c in table.columns if str(c).startswith("prob_")]
    if not prob_columns:
        raise InputError(
            f"the outputs table {config.outputs} has no probability columns; name them "
            "prob_<class>, e.g. prob_0 and prob_1."
        )
    for frame, name in ((table, "outputs table"), (data.frame, "data")):
        if frame.duplicated(keys).any():
            raise InputError(
                f"the {name} has several rows per {keys}; add a record id column to both "
                "files and pass it with --record-id."
            )
    left = data.frame[keys].astype(str)
    right = table.assign(**{k: table[k].astype(str) for k in keys})
    joined = left.merge(right, on=keys, how="left", validate="one_to_one")
    if joined[prob_columns].isna().any(axis=None):
        absent = int(joined[prob_columns[0]].isna().sum())
        raise InputError(f"the outputs table has no row for {absent} data rows; export all rows.")
    classes = np.array([str(c)[len("prob_") :] for c in prob_columns], dtype=object)
    return joined[prob_columns].to_numpy(dtype=np.float64), classes


def _distribution_check(data: AuditData, seed: int) -> DistributionCheck | None:
    """Cross-validated AUC of telling members from non-members by their records alone."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import cross_val_predict
    from threadpoolctl import threadpool_limits

    from nemecys.mlaudit.attribute import _encode

    first_rows = np.unique(data.patient_index, return_index=True)[1]
    frame = data.frame.iloc[first_rows]
    inputs = _encode(frame[[*data.features, data.label]])
    member = data.member[first_rows]
    if min(member.sum(), (~member).sum()) < 10:
        return None
    # One OpenMP thread: on a busy machine HistGradientBoosting's thread pool slows down
    # small fits by orders of magnitude.
    with threadpool_limits(limits=1, user_api="openmp"):
        scores = cross_val_predict(
            HistGradientBoostingClassifier(max_iter=100, random_state=seed),
            inputs,
            member,
            cv=5,
            method="predict_proba",
        )[:, 1]
    curve = metrics.roc(scores[member], scores[~member])
    return DistributionCheck(auc=curve.auc, p_value=curve.auc_p_value)


def _verdict(
    outcomes: dict[str, AttackOutcome], fpr: float, max_tpr: float, notes: list[str]
) -> Verdict:
    """Judge on the released model where its non-members suffice, else on the recipe."""
    released_ok = all(
        o.released is not None and o.released.point(fpr).measurable for o in outcomes.values()
    )
    game = "released-model" if released_ok else "training-recipe"
    if not released_ok:
        notes.append(
            f"The verdict uses the training-recipe game because the held-out patients are too "
            f"few to observe an FPR of {fpr:g} on the released model."
        )

    def point_of(outcome: AttackOutcome) -> OperatingPoint:
        result = outcome.released if released_ok else outcome.recipe
        assert result is not None
        return result.point(fpr)

    attack = max(outcomes, key=lambda a: point_of(outcomes[a]).tpr.value)
    point = point_of(outcomes[attack])
    if point.tpr.high <= max_tpr:
        outcome = "pass"
    elif point.tpr.low > max_tpr:
        outcome = "fail"
    else:
        outcome = "inconclusive"
    return Verdict(outcome, attack, game, point, max_tpr)


def _check_config(config: AuditConfig) -> None:
    unknown = [a for a in config.attacks if a not in ATTACKS]
    if unknown:
        raise InputError(f"unknown attack(s) {unknown}; choose from {', '.join(ATTACKS)}.")
    for level in (*config.fprs, config.verdict_fpr):
        if not 0.0 < level < 0.5:
            raise InputError(f"invalid FPR {level}: expected a value in (0, 0.5), e.g. 0.001.")
    if config.verdict_fpr not in config.fprs:
        raise InputError(
            f"the verdict FPR {config.verdict_fpr:g} is not among the FPR levels "
            f"{list(config.fprs)}; add it to --fpr."
        )
    if not 0.0 < config.member_share < 1.0:
        raise InputError(f"invalid member share {config.member_share}: expected a value in (0, 1).")
    if (config.model is None) == (config.outputs is None):
        raise InputError("give exactly one of --model and --outputs.")


def prepare_data(config: AuditConfig) -> tuple[AuditData, ProbabilisticModel | None]:
    """Read the tables and the model and check that they fit together."""
    train = read_table(config.train)
    heldout = read_table(config.heldout)
    if config.patient_id not in train.columns:
        raise InputError(
            f"patient id column '{config.patient_id}' not found in {config.train}; columns: "
            f"{list(train.columns)}. The audit needs one id per patient so that a patient's "
            "rows count as one member; add the column or name it with --patient-id."
        )
    model = _load_target(config)
    features = choose_features(
        list(train.columns),
        label=config.label,
        patient_id=config.patient_id,
        requested=list(config.features) or None,
        model_features=model.feature_names if model else None,
        drop=[*config.drop, *([config.record_id] if config.record_id else [])],
    )
    data = build_pool(
        train, heldout, label=config.label, patient_id=config.patient_id, features=features
    )
    if data.patient_member.all() or not data.patient_member.any():
        raise InputError("after removing duplicates no members or no non-members are left.")
    if model is not None:
        check_labels(model, data.y)
        n_inputs = getattr(model, "n_inputs", None)
        if isinstance(n_inputs, int) and n_inputs != len(features):
            raise InputError(
                f"the model expects {n_inputs} input columns but {len(features)} feature "
                f"columns were selected ({list(features)}); name them with --features."
            )
    return data, model


def run_audit(config: AuditConfig) -> AuditResult:
    """Audit one released model; see the module docstring for the two games."""
    _check_config(config)
    data, model = prepare_data(config)
    notes: list[str] = []
    if data.excluded_duplicates:
        notes.append(
            f"{data.excluded_duplicates} patients were left out because one of their records "
            "also occurs on the other side of the split."
        )

    n_nonmember = int((~data.patient_member).sum())
    per_patient_in = min(max(round(config.fraction * config.references), 1), config.references - 1)
    pooled = data.n_patients * (config.references - per_patient_in)
    for level in config.fprs:
        if n_nonmember < metrics.min_nonmembers(level):
            check_fpr_resolution(
                pooled,
                [level],
                f"the training-recipe game ({config.references} reference models) "
                f"and the released model ({n_nonmember} held-out patients)",
            )
            notes.append(
                f"FPR {level:g} cannot be observed on the released model with {n_nonmember} "
                f"held-out patients (at least {metrics.min_nonmembers(level)} needed); the "
                "training-recipe game reports it instead."
            )

    recipe = _recipe(config, model)
    if model is not None:
        proba, classes = model.predict_proba(data.X), np.asarray(model.classes)
        model_description = f"{config.model} ({type(getattr(model, 'estimator', model)).__name__})"
    else:
        proba, classes = _outputs_probability(config, data)
        model_description = f"per-record outputs {config.outputs}"
    target_prob = probability_of_labels(proba, classes, data.y)
    predicted = classes[proba.argmax(axis=1)]
    correct = np.array([str(p) == str(t) for p, t in zip(predicted, data.y, strict=True)])

    refs = train_references(
        recipe,
        data.X,
        data.y,
        data.patient_index,
        n_models=config.references,
        fraction=config.fraction,
        seed=config.seed,
        n_jobs=config.n_jobs,
        cache_dir=config.cache_dir,
    )
    params = AttackParams(prob_clip=choose_prob_clip(refs.true_prob))
    if "rmia-offline" in config.attacks:
        params = replace(params, rmia_a=tune_rmia_a(refs, data.patient_index, params))

    outcomes = _run_attacks(config, data, refs, target_prob, params)
    strongest = _strongest(outcomes, config.fprs)
    verdict = _verdict(outcomes, config.verdict_fpr, config.max_tpr, notes)

    attributes: list[AttributeResult] = []
    if config.sensitive and model is None:
        notes.append("Attribute inference was skipped: it needs the model, not only its outputs.")
    elif model is not None:
        attributes = [
            attribute_inference(model, data, name, seed=config.seed) for name in config.sensitive
        ]

    return AuditResult(
        config=config,
        data=data,
        model_description=model_description,
        recipe_description=refs.description,
        params=params,
        attacks=outcomes,
        strongest=strongest,
        verdict=verdict,
        target_accuracy={
            "members": float(correct[data.member].mean()),
            "nonmembers": float(correct[~data.member].mean()),
        },
        reference_accuracy=refs.out_accuracy(),
        distribution=_distribution_check(data, config.seed),
        attributes=tuple(attributes),
        notes=tuple(notes),
    )


def _run_attacks(
    config: AuditConfig,
    data: AuditData,
    refs: ReferenceOutputs,
    target_prob: FloatArray,
    params: AttackParams,
) -> dict[str, AttackOutcome]:
    # Bonferroni: every (attack, FPR) pair is one test of the epsilon lower bound.
    confidence = 1.0 - 0.05 / (len(config.attacks) * len(config.fprs))
    outcomes: dict[str, AttackOutcome] = {}
    for attack in config.attacks:
        scores = score_attack(attack, refs, data.patient_index, target_prob, params)
        released = evaluate_released(
            scores,
            data.patient_member,
            config.fprs,
            member_share=config.member_share,
            epsilon_confidence=confidence,
            delta=config.delta,
        )
        recipe = evaluate_recipe(
            scores,
            config.fprs,
            member_share=config.member_share,
            epsilon_confidence=confidence,
            delta=config.delta,
        )
        assert scores.target is not None
        p_values = metrics.empirical_p_values(scores.target, scores.null())
        outcomes[attack] = AttackOutcome(attack, released, recipe, scores, p_values)
    return outcomes


def _strongest(outcomes: dict[str, AttackOutcome], fprs: tuple[float, ...]) -> str:
    """Pick the attack with the best recipe-game TPR at the lowest FPR, then AUC."""
    lowest = min(fprs)
    return max(
        outcomes,
        key=lambda a: (outcomes[a].recipe.point(lowest).tpr.value, outcomes[a].recipe.roc.auc),
    )


def _point_row(name: str, game: GameResult, point: OperatingPoint) -> dict[str, Any]:
    return {
        "attack": name,
        "game": game.game,
        "fpr_requested": point.requested_fpr,
        "measurable": point.measurable,
        "tpr": point.tpr.value,
        "tpr_ci": [point.tpr.low, point.tpr.high],
        "fpr": point.fpr.value,
        "fpr_ci": [point.fpr.low, point.fpr.high],
        "threshold": point.threshold,
        "auc": game.roc.auc,
        "auc_p_value": game.roc.auc_p_value,
        "max_advantage": game.roc.max_advantage,
        "epsilon_lower_bound": point.epsilon_lower_bound,
        "ppv": None if math.isnan(point.ppv) else point.ppv,
        "ppv_low": None if math.isnan(point.ppv_low) else point.ppv_low,
    }


def summary_rows(result: AuditResult) -> list[dict[str, Any]]:
    """Return one row per (attack, game, FPR) with the headline numbers, for the CLI and JSON."""
    return [
        _point_row(name, game, point)
        for name, outcome in result.attacks.items()
        for game in (outcome.released, outcome.recipe)
        if game is not None
        for point in game.points
    ]


def as_frame(result: AuditResult) -> pd.DataFrame:
    """Return the summary rows as a table."""
    return pd.DataFrame(summary_rows(result))
