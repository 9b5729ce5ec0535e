"""The `nemecys ml-audit` command: audit a trained model for membership and attribute leaks.

`ml_audit` is a plain typer command function; `nemecys.cli` registers it. Errors from the
audit arrive as `NemecysError`s and leave with exit code 2; with --gate a failed verdict
exits with 1, as `nemecys check` does for a failing risk.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from nemecys.errors import InputError, NemecysError

logger = logging.getLogger(__name__)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

EXIT_VERDICT_FAILED = 1
EXIT_INVALID_INPUT = 2


def _floats(value: str, option: str) -> tuple[float, ...]:
    try:
        numbers = tuple(float(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise InputError(
            f"invalid {option} '{value}': expected comma-separated numbers, e.g. 0.001,0.01"
        ) from None
    if not numbers:
        raise InputError(f"invalid {option} '{value}': no numbers given")
    return numbers


def _names(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _print_summary(result: Any, written: list[Path]) -> None:
    """Print, per attack and FPR, the game the report judges: the released model where its
    held-out patients suffice for that FPR, else the training recipe."""
    from nemecys.mlaudit.audit import summary_rows

    table = Table(title="Membership inference, thresholds fixed from reference models")
    for column in ("attack", "game", "FPR", "TPR", "95 % CI", "AUC", "eps >="):
        table.add_column(column, overflow="fold")
    rows = summary_rows(result)
    released_ok = {
        (r["attack"], r["fpr_requested"])
        for r in rows
        if r["game"] == "released-model" and r["measurable"]
    }
    for row in rows:
        key = (row["attack"], row["fpr_requested"])
        if (row["game"] == "released-model") != (key in released_ok):
            continue
        table.add_row(
            row["attack"],
            "released" if row["game"] == "released-model" else "recipe",
            f"{row['fpr_requested']:g}",
            f"{row['tpr']:.2%}",
            f"{row['tpr_ci'][0]:.2%} to {row['tpr_ci'][1]:.2%}",
            f"{row['auc']:.3f}",
            f"{row['epsilon_lower_bound']:.2f}",
        )
    out.print(table)
    for attribute in result.attributes:
        out.print(
            f"attribute {attribute.attribute}: attack {attribute.attack_members.value:.1%} on "
            f"training vs {attribute.attack_nonmembers.value:.1%} on held-out patients, "
            f"baseline {attribute.baseline_members.value:.1%}; leak: "
            f"{'yes' if attribute.leaks else 'no'} (p = {attribute.gap_p_value:.2g})"
        )
    for note in result.notes:
        out.print(f"note: {note}", highlight=False)
    colour = {"pass": "green", "fail": "red", "inconclusive": "yellow"}[result.verdict.outcome]
    out.print(
        f"[{colour}]{result.verdict.outcome.upper()}[/{colour}] {result.verdict.explanation}",
        highlight=False,
    )
    for path in written:
        out.print(f"wrote {path}", highlight=False)


def ml_audit(
    train: Annotated[
        Path, typer.Option("--train", help="Training data (members): CSV, TSV or Parquet.")
    ],
    heldout: Annotated[
        Path,
        typer.Option(
            "--heldout",
            help="Held-out data from the same population (non-members): CSV, TSV or Parquet.",
        ),
    ],
    patient_id: Annotated[
        str,
        typer.Option("--patient-id", help="Column with the patient id; the unit of privacy."),
    ],
    label: Annotated[str, typer.Option("--label", help="Column with the model's target label.")],
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="Trained model: .skops, .onnx, XGBoost .ubj, TorchScript .pt, .joblib/.pkl "
            "with --unsafe-load; other names (LightGBM .txt) need --model-format.",
        ),
    ] = None,
    outputs: Annotated[
        Path | None,
        typer.Option(
            "--outputs",
            help="Per-record model outputs instead of a model: the patient id column and "
            "prob_<class> columns. Needs --reference-spec or --reference-factory.",
        ),
    ] = None,
    record_id: Annotated[
        str | None,
        typer.Option("--record-id", help="Column joining --outputs rows to data rows."),
    ] = None,
    model_format: Annotated[
        str | None,
        typer.Option(
            "--model-format",
            help="skops, joblib, pickle, onnx, xgboost, lightgbm or torchscript (default: "
            "from the file suffix).",
        ),
    ] = None,
    unsafe_load: Annotated[
        bool,
        typer.Option(
            "--unsafe-load",
            help="Allow pickle-based and TorchScript models; loading them runs code stored "
            "in the file.",
        ),
    ] = False,
    classes: Annotated[
        str | None,
        typer.Option("--classes", help="Comma-separated class labels in the model's output order."),
    ] = None,
    features: Annotated[
        str | None,
        typer.Option(
            "--features",
            help="Comma-separated input columns (default: the model's own, else all but id "
            "and label).",
        ),
    ] = None,
    drop: Annotated[
        str | None,
        typer.Option("--drop", help="Comma-separated columns that are not model inputs."),
    ] = None,
    reference_spec: Annotated[
        Path | None,
        typer.Option(
            "--reference-spec",
            help='JSON training recipe: {"estimator": "sklearn.ensemble.X", "params": {...}}.',
        ),
    ] = None,
    reference_factory: Annotated[
        str | None,
        typer.Option(
            "--reference-factory",
            help="FILE.py:FUNCTION returning an unfitted model (runs your code).",
        ),
    ] = None,
    references: Annotated[
        int, typer.Option("--references", help="Number of reference models.", min=2)
    ] = 16,
    fraction: Annotated[
        float,
        typer.Option("--fraction", help="Share of patients each reference model trains on."),
    ] = 0.5,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the reference splits.")] = 0,
    jobs: Annotated[
        int, typer.Option("--jobs", help="Parallel training processes (-1: all cores).")
    ] = -1,
    cache: Annotated[
        Path | None,
        typer.Option(
            "--cache",
            help="Folder for reference-model outputs, reused on the next run (default: "
            "OUTPUT/reference-cache).",
        ),
    ] = None,
    attacks: Annotated[
        str | None,
        typer.Option("--attacks", help="Comma-separated attacks (default: all)."),
    ] = None,
    fpr: Annotated[
        str,
        typer.Option("--fpr", help="Comma-separated false-positive rates to report, as fractions."),
    ] = "0.001,0.01",
    member_share: Annotated[
        float,
        typer.Option(
            "--member-share",
            help="Share of tested patients assumed to be training patients, for the PPV.",
        ),
    ] = 0.01,
    delta: Annotated[
        float, typer.Option("--delta", help="Delta of the empirical epsilon lower bound.")
    ] = 0.0,
    sensitive: Annotated[
        list[str] | None,
        typer.Option("--sensitive", help="Input column to run attribute inference on. Repeatable."),
    ] = None,
    verdict_fpr: Annotated[
        float, typer.Option("--verdict-fpr", help="FPR at which the verdict is judged.")
    ] = 0.001,
    max_tpr: Annotated[
        float,
        typer.Option(
            "--max-tpr", help="Highest acceptable TPR of any attack at --verdict-fpr (fraction)."
        ),
    ] = 0.01,
    gate: Annotated[
        bool, typer.Option("--gate", help="Exit with code 1 when the verdict is fail.")
    ] = False,
    dp_epsilons: Annotated[
        str | None,
        typer.Option(
            "--dp-epsilons",
            help="Comma-separated privacy budgets for the differential-privacy trade-off.",
        ),
    ] = None,
    dp_family: Annotated[
        str | None,
        typer.Option(
            "--dp-family",
            help="Model family retrained for the trade-off: random_forest, "
            "logistic_regression, gaussian_nb or torch_mlp (default: the audited model's).",
        ),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for ml-audit.html and ml-audit.json.")
    ] = Path("nemecys-out"),
) -> None:
    """Audit a trained model for membership and attribute inference; write HTML and JSON."""
    from nemecys.mlaudit.attacks import ATTACKS
    from nemecys.mlaudit.audit import AuditConfig, run_audit
    from nemecys.mlaudit.report import write_report

    try:
        config = AuditConfig(
            train=train,
            heldout=heldout,
            patient_id=patient_id,
            label=label,
            model=model,
            outputs=outputs,
            record_id=record_id,
            model_format=model_format,
            unsafe_load=unsafe_load,
            classes=_names(classes),
            features=_names(features),
            drop=_names(drop),
            reference_spec=reference_spec,
            reference_factory=reference_factory,
            references=references,
            fraction=fraction,
            seed=seed,
            n_jobs=jobs,
            cache_dir=cache if cache is not None else output / "reference-cache",
            attacks=_names(attacks) or ATTACKS,
            fprs=_floats(fpr, "--fpr"),
            member_share=member_share,
            delta=delta,
            sensitive=tuple(sensitive or ()),
            verdict_fpr=verdict_fpr,
            max_tpr=max_tpr,
        )
        epsilons = _floats(dp_epsilons, "--dp-epsilons") if dp_epsilons else ()
        result = run_audit(config)
        tradeoff_svg, caption, tradeoff = _dp_tradeoff(result, epsilons, dp_family, output)
        written = write_report(
            result,
            output,
            tradeoff_svg=tradeoff_svg,
            tradeoff_caption=caption,
            tradeoff=tradeoff,
        )
    except NemecysError as exc:
        err.print(exc.diagnostics(), markup=False, highlight=False)
        raise typer.Exit(EXIT_INVALID_INPUT) from None

    _print_summary(result, written)
    if gate and result.verdict.outcome == "fail":
        raise typer.Exit(EXIT_VERDICT_FAILED)


def _dp_tradeoff(
    result: Any, epsilons: tuple[float, ...], family: str | None, output: Path
) -> tuple[str | None, str, Any]:
    """Run the differential-privacy trade-off when asked and the module is installed."""
    if not epsilons:
        return None, "", None
    import importlib.util

    if importlib.util.find_spec("nemecys.mlaudit.tradeoff") is None:
        raise InputError(
            "--dp-epsilons needs the differential-privacy trade-off module "
            "(nemecys.mlaudit.tradeoff), which this installation does not have; "
            "run the audit without --dp-epsilons."
        )
    try:
        from nemecys.mlaudit.mitigation import run_dp_tradeoff
    except ImportError as exc:  # diffprivlib missing or incompatible with scikit-learn
        raise InputError(
            f"the differential-privacy trade-off cannot run here: {exc}. Install diffprivlib "
            "with a scikit-learn version it supports, or run without --dp-epsilons."
        ) from exc
    section = run_dp_tradeoff(result, epsilons, family, output)
    return section.svg, section.caption, section.document
