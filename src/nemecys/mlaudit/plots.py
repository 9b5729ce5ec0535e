"""Figures of the audit report as inline SVG strings (matplotlib, Agg backend).

Log-log ROC curves show the low-FPR region where a few patients are exposed with near
certainty; a linear ROC hides it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from nemecys.mlaudit.attacks import GameResult  # noqa: E402

COLORS = {
    "loss": "#7f7f7f",
    "lira-online": "#1f77b4",
    "lira-online-fixed-var": "#17becf",
    "lira-offline": "#2ca02c",
    "lira-offline-fixed-var": "#bcbd22",
    "rmia-online": "#d62728",
    "rmia-offline": "#ff7f0e",
}


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    # Drop the XML prolog and DOCTYPE so the SVG can be inlined in HTML.
    return text[text.index("<svg") :]


def roc_figure(games: dict[str, GameResult], title: str, floor: float) -> str:
    """Log-log ROC curves of several attacks in one privacy game, with the operating points.

    `floor` is the smallest FPR drawn (below 1/non-members the curve has no information).
    """
    figure, axis = plt.subplots(figsize=(5.2, 4.4))
    grid = np.logspace(np.log10(floor), 0, 100)
    axis.plot(grid, grid, color="black", linestyle=":", linewidth=1, label="chance")
    for name, game in games.items():
        color = COLORS.get(name)
        fpr = np.maximum(game.roc.fpr, floor)
        axis.step(
            fpr,
            np.maximum(game.roc.tpr, floor),
            where="post",
            color=color,
            linewidth=1.3,
            label=f"{name} (AUC {game.roc.auc:.3f})",
        )
        for point in game.points:
            if not point.measurable:
                continue
            axis.errorbar(
                max(point.fpr.value, floor),
                max(point.tpr.value, floor),
                yerr=[
                    [max(point.tpr.value, floor) - max(point.tpr.low, floor)],
                    [max(point.tpr.high, floor) - max(point.tpr.value, floor)],
                ],
                fmt="o",
                markersize=3.5,
                color=color,
                capsize=2,
            )
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlim(floor, 1)
    axis.set_ylim(floor, 1)
    axis.set_xlabel("false-positive rate (non-member patients flagged)")
    axis.set_ylabel("true-positive rate (training patients flagged)")
    axis.set_title(title, fontsize=10)
    axis.grid(True, which="major", alpha=0.3)
    axis.legend(fontsize=7, loc="lower right")
    return _svg(figure)


def risk_histogram(
    member_p: NDArray[np.float64],
    nonmember_p: NDArray[np.float64],
    attack: str,
    marks: Sequence[float],
) -> str:
    """Histogram of per-patient risk, -log10(p-value), for members and non-members."""
    figure, axis = plt.subplots(figsize=(5.2, 3.6))
    member_risk = -np.log10(member_p)
    nonmember_risk = -np.log10(nonmember_p)
    top = max(float(member_risk.max()), float(nonmember_risk.max()), 3.0)
    bins = np.linspace(0, top, 40).tolist()
    axis.hist(nonmember_risk, bins=bins, alpha=0.6, density=True, label="held-out patients")
    axis.hist(member_risk, bins=bins, alpha=0.6, density=True, label="training patients")
    for level in marks:
        axis.axvline(-np.log10(level), color="black", linestyle="--", linewidth=0.8)
        axis.text(-np.log10(level), axis.get_ylim()[1] * 0.95, f" FPR {level:g}", fontsize=7)
    axis.set_yscale("log")
    axis.set_xlabel("per-patient risk: -log10(smallest FPR at which the patient is flagged)")
    axis.set_ylabel("density")
    axis.set_title(f"Per-patient membership risk ({attack})", fontsize=10)
    axis.legend(fontsize=7)
    return _svg(figure)


def ppv_figure(games: dict[str, GameResult], fpr: float, marked_share: float) -> str:
    """Attacker precision against the share of tested patients who are training patients."""
    figure, axis = plt.subplots(figsize=(5.2, 3.6))
    shares = np.logspace(-4, np.log10(0.5), 100)
    for name, game in games.items():
        point = game.point(fpr)
        tpr, false_rate = point.tpr.value, max(point.fpr.value, 1e-12)
        precision = shares * tpr / (shares * tpr + (1 - shares) * false_rate)
        axis.plot(shares, precision, color=COLORS.get(name), linewidth=1.3, label=name)
    axis.axvline(marked_share, color="black", linestyle="--", linewidth=0.8)
    axis.set_xscale("log")
    axis.set_ylim(0, 1)
    axis.set_xlabel("share of tested patients who were in the training data")
    axis.set_ylabel("precision (PPV) of a flag")
    axis.set_title(f"Trade-off: how trustworthy a flag is, threshold at FPR {fpr:g}", fontsize=10)
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=7)
    return _svg(figure)
