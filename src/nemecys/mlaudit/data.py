"""Read the training and held-out tables and join them into one pool of patients.

A membership audit is only meaningful when members (the model's training patients) and
non-members (held-out patients) come from one population, each patient is wholly on one side,
and no record occurs on both sides. This module enforces the last two with clear errors and
keeps the pool in an order that does not depend on which file a patient came from, so that
reference-model splits and thresholds cannot depend on the true membership labels.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nemecys.errors import InputError

logger = logging.getLogger(__name__)

TABLE_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class AuditData:
    """The pool of training and held-out rows, sorted by patient id.

    `member` is True for rows from the training table. `patient_index` numbers the patients
    0..P-1 in pool order and `patient_member` holds their membership.
    """

    frame: pd.DataFrame  # all columns, pool order, index 0..N-1
    features: tuple[str, ...]
    label: str
    patient_id: str
    member: NDArray[np.bool_]
    patient_index: NDArray[np.int64]
    patient_ids: NDArray[np.str_]
    patient_member: NDArray[np.bool_]
    excluded_duplicates: int  # patients dropped because a record of theirs is on both sides

    @property
    def X(self) -> pd.DataFrame:
        return self.frame.loc[:, list(self.features)]

    @property
    def y(self) -> NDArray[Any]:
        return self.frame[self.label].to_numpy()

    @property
    def n_patients(self) -> int:
        return int(self.patient_ids.size)


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV, TSV or Parquet file chosen by its suffix."""
    kind = TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputError(
            f"unsupported table format: {path} (expected one of {', '.join(sorted(TABLE_SUFFIXES))})"
        )
    if not path.is_file():
        raise InputError(f"table not found: {path}")
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, sep="\t" if kind == "tsv" else ",")
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read table {path}: {exc}") from exc


def _check_columns(train: pd.DataFrame, heldout: pd.DataFrame, required: list[str]) -> None:
    only_train = sorted(set(train.columns) - set(heldout.columns))
    only_heldout = sorted(set(heldout.columns) - set(train.columns))
    if only_train or only_heldout:
        raise InputError(
            "the training and held-out tables have different columns: "
            f"only in training: {only_train or 'none'}; only in held-out: {only_heldout or 'none'}. "
            "Export both tables with the same columns."
        )
    missing = [name for name in required if name not in train.columns]
    if missing:
        raise InputError(
            f"column(s) {missing} not found in the tables; available columns: "
            f"{list(train.columns)}. Check --patient-id, --label and --features."
        )


def _check_patient_ids(train: pd.DataFrame, heldout: pd.DataFrame, patient_id: str) -> None:
    for name, table in (("training", train), ("held-out", heldout)):
        if table[patient_id].isna().any():
            rows = table.index[table[patient_id].isna()][:5].tolist()
            raise InputError(
                f"the patient id column '{patient_id}' is empty in {name} rows {rows}; "
                "every row needs the id of the patient it belongs to."
            )
    shared = sorted(set(train[patient_id].astype(str)) & set(heldout[patient_id].astype(str)))
    if shared:
        raise InputError(
            f"{len(shared)} patient id(s) occur in both the training and the held-out table "
            f"(e.g. {shared[:5]}), so their membership is undefined. Split the data by patient, "
            "not by row, and audit the split the model was really trained on."
        )


def choose_features(
    columns: list[str],
    *,
    label: str,
    patient_id: str,
    requested: list[str] | None,
    model_features: list[str] | None,
    drop: list[str],
) -> tuple[str, ...]:
    """Return the model's input columns: explicit, else the model's own names, else the rest."""
    if requested:
        features = list(requested)
    elif model_features:
        features = list(model_features)
    else:
        features = [c for c in columns if c not in {label, patient_id, *drop}]
    missing = [f for f in features if f not in columns]
    if missing:
        raise InputError(
            f"the model's input column(s) {missing} are not in the tables; available columns: "
            f"{columns}. Pass the data the model was trained on, or name the columns with --features."
        )
    for forbidden in (label, patient_id):
        if forbidden in features:
            raise InputError(
                f"column '{forbidden}' is both a model input and the label or patient id; "
                "remove it from --features."
            )
    if not features:
        raise InputError("no feature columns left; name them with --features.")
    return tuple(features)


def build_pool(
    train: pd.DataFrame,
    heldout: pd.DataFrame,
    *,
    label: str,
    patient_id: str,
    features: tuple[str, ...],
) -> AuditData:
    """Join both tables into a pool sorted by patient id and check it can be audited."""
    _check_columns(train, heldout, [label, patient_id, *features])
    _check_patient_ids(train, heldout, patient_id)
    for name, table in (("training", train), ("held-out", heldout)):
        if table.empty:
            raise InputError(f"the {name} table has no rows.")
        if table[label].isna().any():
            raise InputError(f"the label column '{label}' has empty values in the {name} table.")

    frame = pd.concat(
        [train.assign(__member=True), heldout.assign(__member=False)], ignore_index=True
    )
    frame[patient_id] = frame[patient_id].astype(str)
    frame, excluded = _drop_cross_duplicates(frame, patient_id, [*features, label])

    # Sort by patient id only, so the pool order (and everything seeded from it) does not
    # depend on which table a patient came from.
    frame = frame.sort_values(patient_id, kind="mergesort").reset_index(drop=True)
    member = frame.pop("__member").to_numpy(dtype=bool)
    codes, uniques = pd.factorize(frame[patient_id], sort=False)
    patient_member = np.zeros(len(uniques), dtype=bool)
    patient_member[codes] = member
    return AuditData(
        frame=frame,
        features=features,
        label=label,
        patient_id=patient_id,
        member=member,
        patient_index=codes.astype(np.int64),
        patient_ids=np.asarray(uniques, dtype=str),
        patient_member=patient_member,
        excluded_duplicates=excluded,
    )


def _drop_cross_duplicates(
    frame: pd.DataFrame, patient_id: str, record_columns: list[str]
) -> tuple[pd.DataFrame, int]:
    """Drop patients with a record (features and label) that also occurs on the other side.

    Such a record is both "in" and "out" of the training data, so an attack scoring it right
    or wrong says nothing.
    """
    key = pd.util.hash_pandas_object(frame[record_columns], index=False)
    sides = frame.groupby(key.to_numpy())["__member"].nunique()
    ambiguous = set(sides.index[sides > 1])
    if not ambiguous:
        return frame, 0
    patients = set(frame.loc[key.isin(ambiguous).to_numpy(), patient_id])
    logger.warning(
        "dropped %d patients whose records occur in both the training and held-out tables",
        len(patients),
    )
    kept = frame[~frame[patient_id].isin(patients)].reset_index(drop=True)
    return kept, len(patients)
