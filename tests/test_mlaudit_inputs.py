"""Audit inputs: tables, patient ids, model formats and the errors bad inputs give."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("skops")

import skops.io as sio
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nemecys.errors import InputError
from nemecys.mlaudit.audit import AuditConfig, prepare_data, run_audit
from nemecys.mlaudit.data import build_pool, read_table
from nemecys.mlaudit.models import load_model, true_class_probability


@pytest.fixture(scope="module")
def cancer() -> pd.DataFrame:
    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame.insert(0, "patient_id", [f"wdbc-{i:03d}" for i in range(len(frame))])
    return frame


@pytest.fixture(scope="module")
def split(cancer: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder with train.csv, heldout.csv and a fitted pipeline in several formats."""
    folder = tmp_path_factory.mktemp("cancer")
    members = np.random.default_rng(0).random(len(cancer)) < 0.7
    cancer[members].to_csv(folder / "train.csv", index=False)
    cancer[~members].to_csv(folder / "heldout.csv", index=False)
    features = [c for c in cancer.columns if c not in {"patient_id", "target"}]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(cancer.loc[members, features], cancer.loc[members, "target"])
    sio.dump(model, folder / "model.skops")
    with (folder / "model.pkl").open("wb") as handle:
        pickle.dump(model, handle)
    return folder


def _config(folder: Path, **changes: object) -> AuditConfig:
    base: dict[str, object] = {
        "train": folder / "train.csv",
        "heldout": folder / "heldout.csv",
        "patient_id": "patient_id",
        "label": "target",
        "model": folder / "model.skops",
        "references": 4,
        "attacks": ("lira-offline", "rmia-offline"),
        "fprs": (0.01,),
        "verdict_fpr": 0.01,
        "n_jobs": 1,
    }
    base.update(changes)
    return AuditConfig(**base)  # type: ignore[arg-type]


def test_pickle_needs_unsafe_flag(split: Path) -> None:
    with pytest.raises(InputError, match="loading a pickle runs any code") as info:
        load_model(split / "model.pkl")
    assert "--unsafe-load" in str(info.value)
    assert "skops" in str(info.value)


def test_pickle_loads_with_unsafe_flag(split: Path, cancer: pd.DataFrame) -> None:
    model = load_model(split / "model.pkl", unsafe_load=True)
    safe = load_model(split / "model.skops")
    X = cancer.drop(columns=["patient_id", "target"])
    np.testing.assert_allclose(model.predict_proba(X), safe.predict_proba(X))


def test_skops_rejects_unknown_types(tmp_path: Path) -> None:
    # A function reference is not model state: loading it must be an explicit choice.
    model = make_pipeline(StandardScaler(), LogisticRegression())
    model.fit(np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2)
    model.callback = os.getcwd  # type: ignore[attr-defined]
    sio.dump(model, tmp_path / "odd.skops")
    with pytest.raises(InputError, match="could run code"):
        load_model(tmp_path / "odd.skops")


def test_onnx_matches_sklearn(split: Path, cancer: pd.DataFrame, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    skl2onnx = pytest.importorskip("skl2onnx")
    X = cancer.drop(columns=["patient_id", "target"])
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(
        X.to_numpy(np.float32), cancer["target"]
    )
    onnx_model = skl2onnx.to_onnx(forest, X.to_numpy(np.float32)[:1])
    (tmp_path / "forest.onnx").write_bytes(onnx_model.SerializeToString())

    model = load_model(tmp_path / "forest.onnx")
    assert [str(c) for c in model.classes] == ["0", "1"]
    expected = forest.predict_proba(X.to_numpy(np.float32))
    np.testing.assert_allclose(model.predict_proba(X), expected, atol=1e-5)
    prob = true_class_probability(model, X, cancer["target"].to_numpy())
    assert prob.shape == (len(X),)


def test_xgboost_native_model(cancer: pd.DataFrame, tmp_path: Path) -> None:
    xgboost = pytest.importorskip("xgboost")
    X = cancer.drop(columns=["patient_id", "target"])
    booster = xgboost.XGBClassifier(n_estimators=5, max_depth=2).fit(X, cancer["target"])
    booster.save_model(tmp_path / "model.ubj")
    model = load_model(tmp_path / "model.ubj", class_labels=[0, 1])
    np.testing.assert_allclose(model.predict_proba(X), booster.predict_proba(X), atol=1e-6)


def test_unknown_suffix_names_formats(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"\x00")
    with pytest.raises(InputError, match="--model-format"):
        load_model(path)


def test_missing_patient_id(split: Path) -> None:
    with pytest.raises(InputError, match="patient id column 'subject' not found") as info:
        prepare_data(_config(split, patient_id="subject"))
    assert "wdbc" not in str(info.value)  # the message lists columns, not data
    assert "--patient-id" in str(info.value)


def test_column_mismatch_between_tables(split: Path, tmp_path: Path) -> None:
    heldout = read_table(split / "heldout.csv").drop(columns=["mean_radius"])
    heldout.to_csv(tmp_path / "heldout.csv", index=False)
    with pytest.raises(InputError, match="different columns") as info:
        prepare_data(_config(split, heldout=tmp_path / "heldout.csv"))
    assert "only in training: ['mean_radius']" in str(info.value)


def test_model_column_missing_from_data(split: Path, tmp_path: Path) -> None:
    for name in ("train", "heldout"):
        table = read_table(split / f"{name}.csv").rename(columns={"mean_radius": "radius"})
        table.to_csv(tmp_path / f"{name}.csv", index=False)
    with pytest.raises(InputError, match=r"input column\(s\) \['mean_radius'\]"):
        prepare_data(_config(split, train=tmp_path / "train.csv", heldout=tmp_path / "heldout.csv"))


def test_patient_on_both_sides(split: Path, tmp_path: Path) -> None:
    train = read_table(split / "train.csv")
    heldout = read_table(split / "heldout.csv")
    heldout = pd.concat([heldout, train.iloc[:2]])
    heldout.to_csv(tmp_path / "heldout.csv", index=False)
    with pytest.raises(InputError, match="2 patient id\\(s\\) occur in both"):
        prepare_data(_config(split, heldout=tmp_path / "heldout.csv"))


def test_duplicate_record_across_sides_dropped(cancer: pd.DataFrame) -> None:
    train = cancer.iloc[:50].copy()
    heldout = cancer.iloc[50:100].copy()
    copied = train.iloc[[0]].assign(patient_id="copy-of-0")
    heldout = pd.concat([heldout, copied])
    features = tuple(c for c in cancer.columns if c not in {"patient_id", "target"})
    pool = build_pool(train, heldout, label="target", patient_id="patient_id", features=features)
    assert pool.excluded_duplicates == 2
    assert "copy-of-0" not in set(pool.patient_ids)
    assert pool.n_patients == 101 - 2


def test_unknown_label_values(split: Path, tmp_path: Path) -> None:
    for name in ("train", "heldout"):
        table = read_table(split / f"{name}.csv")
        table["target"] = table["target"].map({0: "benign", 1: "malignant"})
        table.to_csv(tmp_path / f"{name}.csv", index=False)
    with pytest.raises(InputError, match="does not predict"):
        prepare_data(_config(split, train=tmp_path / "train.csv", heldout=tmp_path / "heldout.csv"))


def test_outputs_table_audit(split: Path, cancer: pd.DataFrame, tmp_path: Path) -> None:
    model = load_model(split / "model.skops")
    X = cancer.drop(columns=["patient_id", "target"])
    proba = model.predict_proba(X)
    outputs = pd.DataFrame(
        {"patient_id": cancer["patient_id"], "prob_0": proba[:, 0], "prob_1": proba[:, 1]}
    )
    outputs.to_csv(tmp_path / "outputs.csv", index=False)
    spec = tmp_path / "spec.json"
    spec.write_text('{"estimator": "sklearn.naive_bayes.GaussianNB", "params": {}}')

    from_outputs = run_audit(
        _config(split, model=None, outputs=tmp_path / "outputs.csv", reference_spec=spec)
    )
    assert from_outputs.target_accuracy["nonmembers"] > 0.9
    assert from_outputs.attributes == ()

    with pytest.raises(InputError, match="training recipe"):
        run_audit(_config(split, model=None, outputs=tmp_path / "outputs.csv"))


def test_spec_rejects_other_modules(split: Path, tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text('{"estimator": "os.system", "params": {}}')
    with pytest.raises(InputError, match="may only name an estimator class"):
        run_audit(_config(split, reference_spec=spec))


def test_too_few_nonmembers_in_audit(split: Path) -> None:
    # 171 held-out patients, and 2 reference models give 569 pooled non-member
    # evaluations: neither reaches the 1000 that FPR 0.001 needs.
    with pytest.raises(InputError, match="too few non-members for FPR 0.001"):
        run_audit(_config(split, references=2, fprs=(0.001,), verdict_fpr=0.001))


def test_factory_recipe_from_file(split: Path, tmp_path: Path) -> None:
    factory = tmp_path / "recipe.py"
    factory.write_text(
        "from sklearn.naive_bayes import GaussianNB\n"
        "def build():\n"
        "    return GaussianNB(var_smoothing=1e-8)\n"
    )
    result = run_audit(_config(split, reference_factory=f"{factory}:build", n_jobs=2))
    assert "factory" in result.recipe_description
    assert result.verdict.outcome in {"pass", "fail", "inconclusive"}


def test_lightgbm_native_model(cancer: pd.DataFrame, tmp_path: Path) -> None:
    lightgbm = pytest.importorskip("lightgbm")
    X = cancer.drop(columns=["patient_id", "target"])
    booster = lightgbm.LGBMClassifier(n_estimators=5, num_leaves=4, verbose=-1)
    booster.fit(X, cancer["target"])
    booster.booster_.save_model(str(tmp_path / "model.txt"))
    model = load_model(tmp_path / "model.txt", model_format="lightgbm")
    np.testing.assert_allclose(model.predict_proba(X), booster.predict_proba(X), atol=1e-6)


def test_torchscript_needs_unsafe_flag(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(b"not a model")
    with pytest.raises(InputError, match="TorchScript archive contains code"):
        load_model(path)


def test_torchscript_model(cancer: pd.DataFrame, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="PyTorch is optional and not installed")
    X = cancer.drop(columns=["patient_id", "target"])
    network = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 2), torch.nn.Softmax(dim=1))
    torch.jit.script(network).save(str(tmp_path / "model.pt"))
    model = load_model(tmp_path / "model.pt", unsafe_load=True, class_labels=[0, 1])
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
