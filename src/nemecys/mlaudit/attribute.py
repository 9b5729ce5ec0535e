"""Attribute inference: does the model reveal a patient's sensitive input attribute?

The attacker has a patient's other inputs and label and queries the model once for each
candidate value of the sensitive attribute. The model-based attack picks the candidate that
maximises prior(value | other inputs) * P_model(label | other inputs, value). Guessing the
attribute from the other inputs is possible without any model (Jayaraman and Evans 2022,
"Are Attribute Inference Attacks Just Imputation?"), so the attack is compared with an
imputation baseline that predicts the attribute from the other inputs and the label, and
the leak is the member-versus-non-member gap of the attack. Both the prior and the baseline
are cross-fitted on the pool, so no patient's own record trains the model that scores it.

One row per patient is attacked (the patient's first row), which keeps the accuracies
binomial and the patient the unit of privacy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from nemecys.errors import InputError
from nemecys.mlaudit.data import AuditData
from nemecys.mlaudit.metrics import Interval, clopper_pearson
from nemecys.mlaudit.models import ProbabilisticModel, true_class_probability

# A numeric attribute with more distinct values than this is split into quantile bins.
MAX_CATEGORIES = 10
BINS = 5
FOLDS = 5
SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class AttributeResult:
    """Accuracy of the model-based attack and of the imputation baseline, by membership."""

    attribute: str
    binned: bool  # True when a numeric attribute was split into quantile bins
    candidates: tuple[str, ...]
    attack_members: Interval
    attack_nonmembers: Interval
    baseline_members: Interval
    baseline_nonmembers: Interval
    gap_p_value: float  # one-sided Fisher test: attack more accurate on members

    @property
    def gain_over_baseline(self) -> float:
        return self.attack_members.value - self.baseline_members.value

    @property
    def member_gap(self) -> float:
        return self.attack_members.value - self.attack_nonmembers.value

    @property
    def risk_ratio(self) -> float:
        """Attack accuracy on members divided by that on non-members; above 1 is a leak."""
        nonmember = self.attack_nonmembers.value
        return self.attack_members.value / nonmember if nonmember > 0 else float("inf")

    @property
    def leaks(self) -> bool:
        return self.gap_p_value < SIGNIFICANCE and self.gain_over_baseline > 0


def _encode(frame: pd.DataFrame) -> NDArray[np.float64]:
    """Turn columns into floats for the imputation models; text becomes category codes."""
    columns = []
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column):
            columns.append(column.to_numpy(dtype=np.float64))
        else:
            codes = pd.factorize(column.astype(str))[0].astype(np.float64)
            columns.append(np.where(codes < 0, np.nan, codes))
    return np.column_stack(columns)


def _cross_fitted_proba(
    inputs: NDArray[np.float64], target: NDArray[np.int64], n_classes: int, seed: int
) -> NDArray[np.float64]:
    """Out-of-fold class probabilities of a gradient-boosting imputer, columns 0..n_classes-1."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    fold = rng.permutation(np.arange(len(target)) % FOLDS)
    proba = np.full((len(target), n_classes), 1.0 / n_classes)
    for k in range(FOLDS):
        train = fold != k
        present = np.unique(target[train])
        if present.size < 2:
            proba[~train] = np.bincount(target[train], minlength=n_classes) / train.sum()
            continue
        model = HistGradientBoostingClassifier(max_iter=100, random_state=seed)
        # One OpenMP thread: small fits slow down badly when threads compete for cores.
        with threadpool_limits(limits=1, user_api="openmp"):
            model.fit(inputs[train], target[train])
        proba[~train] = 0.0
        proba[np.ix_(~train, model.classes_)] = model.predict_proba(inputs[~train])
    return proba


def _candidates(column: pd.Series) -> tuple[NDArray[np.int64], list[Any], bool]:
    """Return each row's true candidate index, the candidate values and whether binned."""
    values = column.dropna()
    if pd.api.types.is_numeric_dtype(column) and values.nunique() > MAX_CATEGORIES:
        edges = np.unique(np.quantile(values.to_numpy(dtype=float), np.linspace(0, 1, BINS + 1)))
        index = np.clip(
            np.searchsorted(edges, column.to_numpy(dtype=float), side="right") - 1,
            0,
            edges.size - 2,
        )
        medians = [float(column[index == b].median()) for b in range(edges.size - 1)]
        return index.astype(np.int64), medians, True
    categories = sorted(values.unique().tolist(), key=str)
    lookup = {str(c): i for i, c in enumerate(categories)}
    index = np.array([lookup[str(v)] for v in column], dtype=np.int64)
    return index, categories, False


def attribute_inference(
    model: ProbabilisticModel, data: AuditData, attribute: str, *, seed: int = 0
) -> AttributeResult:
    """Run the model-based attack and the imputation baseline on one sensitive attribute."""
    if attribute not in data.features:
        raise InputError(
            f"sensitive attribute '{attribute}' is not a model input; attribute inference "
            f"through the model needs one of the feature columns {list(data.features)}."
        )
    first_rows = np.unique(data.patient_index, return_index=True)[1]
    frame = data.frame.iloc[first_rows].reset_index(drop=True)
    if frame[attribute].isna().any():
        raise InputError(f"sensitive attribute '{attribute}' has empty values; fill or drop them.")
    member = data.member[first_rows]
    truth, candidates, binned = _candidates(frame[attribute])
    if len(candidates) < 2:
        raise InputError(f"sensitive attribute '{attribute}' has a single value; nothing to infer.")

    others = [f for f in data.features if f != attribute]
    other_inputs = _encode(frame[others]) if others else np.zeros((len(frame), 1))
    label_codes = pd.factorize(frame[data.label].astype(str))[0].astype(np.float64)
    prior = _cross_fitted_proba(other_inputs, truth, len(candidates), seed)
    baseline = _cross_fitted_proba(
        np.column_stack([other_inputs, label_codes]), truth, len(candidates), seed + 1
    )

    X = frame.loc[:, list(data.features)]
    y = frame[data.label].to_numpy()
    likelihood = np.empty((len(frame), len(candidates)))
    for c, value in enumerate(candidates):
        queried = X.copy()
        queried[attribute] = value
        likelihood[:, c] = true_class_probability(model, queried, y)
    posterior = np.log(np.clip(prior, 1e-12, 1.0)) + np.log(np.clip(likelihood, 1e-12, 1.0))
    attack_correct = posterior.argmax(axis=1) == truth
    baseline_correct = baseline.argmax(axis=1) == truth

    def accuracy(correct: NDArray[np.bool_], rows: NDArray[np.bool_]) -> Interval:
        return clopper_pearson(int(correct[rows].sum()), int(rows.sum()))

    table = np.array(
        [
            [attack_correct[member].sum(), (~attack_correct[member]).sum()],
            [attack_correct[~member].sum(), (~attack_correct[~member]).sum()],
        ],
        dtype=np.int64,
    )
    gap_p = float(stats.fisher_exact(table, alternative="greater").pvalue)
    return AttributeResult(
        attribute=attribute,
        binned=binned,
        candidates=tuple(f"{c:.4g}" if isinstance(c, float) else str(c) for c in candidates),
        attack_members=accuracy(attack_correct, member),
        attack_nonmembers=accuracy(attack_correct, ~member),
        baseline_members=accuracy(baseline_correct, member),
        baseline_nonmembers=accuracy(baseline_correct, ~member),
        gap_p_value=gap_p,
    )
