"""Compare nemecys's membership-inference attacks with IBM ART's on the same targets and data.

Setting, built in this process from scikit-learn's breast cancer table (569 patients):

* `--targets` target models, each a random forest (100 trees, `min_samples_leaf=1`, the
  leaky default) trained on a random half of the patients. The other half are its
  non-members.
* Each target's members and non-members are split again in half. The first halves are
  labelled data the ART black-box and label-only attacks train or calibrate on, as ART's
  examples do. The second halves are the evaluation records, the same for every attack.
* nemecys's attacks (LOSS, LiRA, RMIA from `nemecys.mlaudit.attacks`) instead train
  `--references` reference forests with the same recipe on random halves of the whole pool,
  once for all targets, and never see a target's membership labels.
* ART 1.20.1: `MembershipInferenceBlackBox` with random-forest and gradient-boosting attack
  models on the target's probabilities, and `MembershipInferenceBlackBoxRuleBased`
  (correctly classified means member). `LabelOnlyDecisionBoundary` (HopSkipJump distance to
  the decision boundary, threshold calibrated without labels on random inputs) runs on the
  first `--label-only-targets` targets only, because it queries the model thousands of
  times per record.

Evaluation scores of all targets are pooled. For each attack the benchmark reports TPR at
0.1 % and 1 % FPR, the Clopper-Pearson 95 % interval of that TPR, AUC, and wall time. The
threshold for each FPR is set on the pooled evaluation non-members, with at most ⌊FPR·n⌋ of
them above it, the same rule for every attack. nemecys's time includes training its reference models.
ML Privacy Meter is not run: its PyPI release 1.0.1 imports TensorFlow, PyTorch and Opacus
when loaded.

With `--tradeoff DIR` the script instead measures the mitigation trade-off
(`nemecys.mlaudit.tradeoff.run_recipe_tradeoff`) for random forests and logistic regression:
no mitigation, diffprivlib DP at ε = 0.5, 1, 2, 4, 8 and four regularisation strengths, each
recipe attacked with `--references` reference models. It prints one table per family and
writes `tradeoff-<family>.svg` into DIR.

    .venv/bin/python benchmarks/bench_mlaudit.py --targets 32 --references 64
    .venv/bin/python benchmarks/bench_mlaudit.py --tradeoff benchmarks/results --references 32
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from art.attacks.inference.membership_inference import (
    LabelOnlyDecisionBoundary,
    MembershipInferenceBlackBox,
    MembershipInferenceBlackBoxRuleBased,
)
from art.estimators.classification import SklearnClassifier
from numpy.typing import NDArray
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier

from nemecys.mlaudit import metrics
from nemecys.mlaudit.attacks import AttackParams, choose_prob_clip, score_attack, tune_rmia_a
from nemecys.mlaudit.dp import (
    FeatureBounds,
    TrainingVariant,
    baseline_variant,
    dp_variants,
    regularisation_variants,
)
from nemecys.mlaudit.models import probability_of_labels
from nemecys.mlaudit.reference import CallableRecipe, train_references
from nemecys.mlaudit.tradeoff import plot_tradeoff, run_recipe_tradeoff

ROOT = Path(__file__).resolve().parents[1]
FPRS = (0.001, 0.01)
NEMECYS_ATTACKS = (
    "loss",
    "lira-online",
    "lira-online-fixed-var",
    "lira-offline-fixed-var",
    "rmia-online",
    "rmia-offline",
)
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def target_forest(seed: int) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=100, min_samples_leaf=1, random_state=seed)


def reference_forest() -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=100, min_samples_leaf=1)


@dataclass(frozen=True)
class Target:
    """One target model with its evaluation records and the attacker's labelled records."""

    model: Any
    members_known: IntArray
    nonmembers_known: IntArray
    members_eval: IntArray
    nonmembers_eval: IntArray


@dataclass
class AttackRun:
    """Pooled evaluation scores of one attack and its wall time."""

    tool: str
    attack: str
    member_scores: list[FloatArray]
    nonmember_scores: list[FloatArray]
    seconds: float = 0.0
    targets: int = 0
    note: str = ""


@dataclass(frozen=True)
class Row:
    tool: str
    attack: str
    targets: int
    members: int
    nonmembers: int
    tpr_0_1: float
    tpr_0_1_low: float
    tpr_0_1_high: float
    tpr_1: float
    tpr_1_low: float
    tpr_1_high: float
    auc: float
    seconds: float
    note: str


def make_targets(n_rows: int, count: int, X: Any, y: Any, seed: int) -> list[Target]:
    rng = np.random.default_rng(seed)
    targets = []
    for index in range(count):
        order = rng.permutation(n_rows)
        members, nonmembers = order[: n_rows // 2], order[n_rows // 2 :]
        model = target_forest(seed * 1000 + index).fit(X[members], y[members])
        targets.append(
            Target(
                model=model,
                members_known=members[: members.size // 2],
                members_eval=members[members.size // 2 :],
                nonmembers_known=nonmembers[: nonmembers.size // 2],
                nonmembers_eval=nonmembers[nonmembers.size // 2 :],
            )
        )
    return targets


def run_nemecys(
    X: Any, y: Any, targets: list[Target], references: int, jobs: int, seed: int
) -> list[AttackRun]:
    """Train the reference models once, then score every target with each attack."""
    patient_index = np.arange(len(y), dtype=np.int64)
    started = time.perf_counter()
    refs = train_references(
        CallableRecipe(reference_forest, "random forest, 100 trees, min_samples_leaf=1"),
        X,
        y,
        patient_index,
        n_models=references,
        seed=seed,
        n_jobs=jobs,
    )
    params = AttackParams(prob_clip=choose_prob_clip(refs.true_prob))
    setup_seconds = time.perf_counter() - started
    tuning_started = time.perf_counter()
    rmia_params = AttackParams(
        prob_clip=params.prob_clip, rmia_a=tune_rmia_a(refs, patient_index, params)
    )
    tuning_seconds = time.perf_counter() - tuning_started

    target_probs = [
        probability_of_labels(t.model.predict_proba(X), t.model.classes_, y) for t in targets
    ]
    runs = []
    for attack in NEMECYS_ATTACKS:
        chosen = rmia_params if attack == "rmia-offline" else params
        run = AttackRun("nemecys", attack, [], [], targets=len(targets))
        started = time.perf_counter()
        for target, target_prob in zip(targets, target_probs, strict=True):
            scores = score_attack(attack, refs, patient_index, target_prob, chosen, 0).target
            assert scores is not None
            run.member_scores.append(scores[target.members_eval])
            run.nonmember_scores.append(scores[target.nonmembers_eval])
        run.seconds = time.perf_counter() - started + setup_seconds
        if attack == "rmia-offline":
            run.seconds += tuning_seconds
        run.note = f"{references} reference models ({setup_seconds:.1f} s) included"
        runs.append(run)
    return runs


def _art_classifier(model: Any, X: Any) -> Any:

    return SklearnClassifier(model=model, clip_values=(X.min(axis=0), X.max(axis=0)))


def run_art_black_box(X: Any, y: Any, targets: list[Target], model_type: str) -> AttackRun:

    run = AttackRun("ART", f"black-box, {model_type} attack model", [], [], targets=len(targets))
    started = time.perf_counter()
    for target in targets:
        attack = MembershipInferenceBlackBox(
            _art_classifier(target.model, X), input_type="prediction", attack_model_type=model_type
        )
        attack.fit(
            x=X[target.members_known],
            y=y[target.members_known],
            test_x=X[target.nonmembers_known],
            test_y=y[target.nonmembers_known],
        )
        for rows, into in (
            (target.members_eval, run.member_scores),
            (target.nonmembers_eval, run.nonmember_scores),
        ):
            into.append(attack.infer(X[rows], y[rows], probabilities=True)[:, 0].astype(float))
    run.seconds = time.perf_counter() - started
    return run


def run_art_rule_based(X: Any, y: Any, targets: list[Target]) -> AttackRun:

    run = AttackRun("ART", "rule-based (correct = member)", [], [], targets=len(targets))
    run.note = "0/1 output: probabilities=True does not return per-record values in 1.20.1"
    started = time.perf_counter()
    for target in targets:
        attack = MembershipInferenceBlackBoxRuleBased(_art_classifier(target.model, X))
        for rows, into in (
            (target.members_eval, run.member_scores),
            (target.nonmembers_eval, run.nonmember_scores),
        ):
            into.append(attack.infer(X[rows], y[rows]).astype(float))
    run.seconds = time.perf_counter() - started
    return run


def run_art_label_only(X: Any, y: Any, targets: list[Target], hsj: dict[str, Any]) -> AttackRun:

    run = AttackRun("ART", "label-only decision boundary", [], [], targets=len(targets))
    run.note = f"HopSkipJump {hsj}"
    started = time.perf_counter()
    for target in targets:
        attack = LabelOnlyDecisionBoundary(_art_classifier(target.model, X))
        # The unsupervised calibration (Li and Zhang) only sets the threshold, so `infer`
        # returns a sigmoid of the boundary distance: a score that ranks records by the
        # attack's signal. The supervised calibration would return binned accuracies, which
        # are not monotone in the distance.
        attack.calibrate_distance_threshold_unsupervised(num_samples=50, **hsj)
        for rows, into in (
            (target.members_eval, run.member_scores),
            (target.nonmembers_eval, run.nonmember_scores),
        ):
            output = attack.infer(X[rows], y[rows], probabilities=True, **hsj)
            into.append(output[:, 1].astype(float))
    run.seconds = time.perf_counter() - started
    return run


def summarise(run: AttackRun) -> Row:
    members = np.concatenate(run.member_scores)
    nonmembers = np.concatenate(run.nonmember_scores)
    rates = []
    for fpr in FPRS:
        threshold = metrics.threshold_at_fpr(nonmembers, fpr)
        rates.append(
            metrics.clopper_pearson(int(np.count_nonzero(members > threshold)), members.size)
        )
    low_fpr, one_percent = rates
    return Row(
        tool=run.tool,
        attack=run.attack,
        targets=run.targets,
        members=int(members.size),
        nonmembers=int(nonmembers.size),
        tpr_0_1=low_fpr.value,
        tpr_0_1_low=low_fpr.low,
        tpr_0_1_high=low_fpr.high,
        tpr_1=one_percent.value,
        tpr_1_low=one_percent.low,
        tpr_1_high=one_percent.high,
        auc=metrics.roc(members, nonmembers).auc,
        seconds=run.seconds,
        note=run.note,
    )


def print_table(rows: list[Row]) -> None:
    print(
        "| tool | attack | targets | members / non-members | TPR @ 0.1 % FPR [95 % CI] "
        "| TPR @ 1 % FPR [95 % CI] | AUC | wall s |"
    )
    print("| --- | --- | ---: | ---: | --- | --- | ---: | ---: |")
    for row in rows:
        print(
            f"| {row.tool} | {row.attack} | {row.targets} | {row.members:,} / {row.nonmembers:,} "
            f"| {row.tpr_0_1:.2%} [{row.tpr_0_1_low:.2%}, {row.tpr_0_1_high:.2%}] "
            f"| {row.tpr_1:.2%} [{row.tpr_1_low:.2%}, {row.tpr_1_high:.2%}] "
            f"| {row.auc:.3f} | {row.seconds:.1f} |"
        )


def timed(label: str, step: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = step()
    print(f"{label}: {time.perf_counter() - started:.1f} s", flush=True)
    return result


TRADEOFF_EPSILONS = (0.5, 1.0, 2.0, 4.0, 8.0)
# min_samples_leaf for forests, 1/C for logistic regression on features scaled to [0, 1].
TRADEOFF_STRENGTHS = {
    "random_forest": (2.0, 5.0, 10.0, 20.0),
    "logistic_regression": (0.01, 0.1, 1.0, 10.0),
}


def run_tradeoff_benchmark(folder: Path, references: int, seed: int, jobs: int) -> None:
    """Print the DP and regularisation trade-off of two families and plot each as SVG."""
    X, y = load_breast_cancer(return_X_y=True)
    # Bounds from the whole pool: they do not depend on which patients train a model.
    bounds = FeatureBounds.from_data(X)
    for family in ("random_forest", "logistic_regression"):
        variants: list[TrainingVariant] = [
            baseline_variant(family, bounds=bounds if family == "logistic_regression" else None),
            *dp_variants(family, TRADEOFF_EPSILONS, bounds, classes=[0, 1]),
            *regularisation_variants(
                family,
                TRADEOFF_STRENGTHS[family],
                bounds=bounds if family == "logistic_regression" else None,
            ),
        ]
        started = time.perf_counter()
        result = run_recipe_tradeoff(variants, X, y, n_reference=references, seed=seed, n_jobs=jobs)
        print(f"\n{family}: {time.perf_counter() - started:.1f} s, {references} models a recipe")
        print(
            "| variant | accuracy | strongest attack | TPR @ 0.1 % FPR [95 % CI] "
            "| DP bound @ 0.1 % | TPR @ 1 % FPR [95 % CI] | DP bound @ 1 % | AUC |"
        )
        print("| --- | ---: | --- | --- | ---: | --- | ---: | ---: |")
        for point in result.points:
            cells = []
            for fpr in (0.001, 0.01):
                rate = point.at(fpr)
                bound = "-" if rate.allowed_tpr is None else f"{rate.allowed_tpr:.2%}"
                cells.append(
                    f"{rate.tpr.value:.2%} [{rate.tpr.low:.2%}, {rate.tpr.high:.2%}] | {bound}"
                )
            print(
                f"| {point.label} | {point.utility:.3f} | {point.attack} | {cells[0]} "
                f"| {cells[1]} | {point.auc:.3f} |"
            )
        path = plot_tradeoff(
            result, folder / f"tradeoff-{family}.svg", title=f"{family}, breast cancer"
        )
        print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", type=int, default=32, help="target models (default 32)")
    parser.add_argument(
        "--references", type=int, default=64, help="nemecys reference models (default 64)"
    )
    parser.add_argument(
        "--label-only-targets",
        type=int,
        default=1,
        help="targets the slow ART label-only attack runs on (default 1, 0 skips it)",
    )
    parser.add_argument(
        "--hsj-max-iter", type=int, default=5, help="HopSkipJump iterations (ART default 50)"
    )
    parser.add_argument(
        "--hsj-max-eval",
        type=int,
        default=200,
        help="HopSkipJump evaluations per gradient estimate (ART default 10,000)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="processes for reference training")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--tradeoff",
        type=Path,
        metavar="DIR",
        help="measure the DP and regularisation trade-off instead and write SVG plots to DIR",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=ROOT / "benchmarks" / "results" / "bench_mlaudit.json",
        help="where to write the results as JSON",
    )
    args = parser.parse_args()
    if args.tradeoff is not None:
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*L-BFGS-B")
        run_tradeoff_benchmark(args.tradeoff, args.references, args.seed, args.jobs)
        return

    # ART warns that PyTorch is missing and scikit-learn warns about feature names; neither
    # changes the results.
    warnings.filterwarnings("ignore", category=UserWarning)
    # ART's label-only calibration draws its random inputs from numpy's global generator.
    np.random.seed(args.seed)
    X, y = load_breast_cancer(return_X_y=True)
    targets = timed("targets", lambda: make_targets(len(y), args.targets, X, y, args.seed))

    runs = timed(
        "nemecys",
        lambda: run_nemecys(X, y, targets, args.references, args.jobs, args.seed),
    )
    for model_type in ("rf", "gb"):
        started = time.perf_counter()
        runs.append(run_art_black_box(X, y, targets, model_type))
        print(f"ART black-box {model_type}: {time.perf_counter() - started:.1f} s", flush=True)
    runs.append(timed("ART rule-based", lambda: run_art_rule_based(X, y, targets)))
    if args.label_only_targets > 0:
        hsj = {
            "max_iter": args.hsj_max_iter,
            "max_eval": args.hsj_max_eval,
            "init_eval": 100,
            "verbose": False,
        }
        subset = targets[: args.label_only_targets]
        runs.append(timed("ART label-only", lambda: run_art_label_only(X, y, subset, hsj)))
        # nemecys's best attacks on the same subset, so the label-only row has a comparison.
        for run in list(runs):
            if run.tool == "nemecys" and run.attack in ("lira-online", "rmia-online"):
                runs.append(
                    AttackRun(
                        run.tool,
                        f"{run.attack} (label-only subset)",
                        run.member_scores[: len(subset)],
                        run.nonmember_scores[: len(subset)],
                        run.seconds,
                        len(subset),
                        "time is for all targets",
                    )
                )

    rows = [summarise(run) for run in runs]
    print_table(rows)
    environment = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "packages": {
            name: importlib.metadata.version(name)
            for name in ("numpy", "scikit-learn", "adversarial-robustness-toolbox")
        },
        "arguments": {k: str(v) for k, v in vars(args).items()},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps({"environment": environment, "rows": [asdict(r) for r in rows]}, indent=2)
    )
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
