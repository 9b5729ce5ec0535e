"""Load the audited model and query it for class probabilities.

Supported: scikit-learn estimators saved with skops (or with joblib/pickle behind
`unsafe_load`, because unpickling runs code stored in the file), XGBoost and LightGBM native
model files, ONNX graphs through onnxruntime and TorchScript archives when PyTorch is
installed. Each loader returns a `ProbabilisticModel`, so the attacks never see which
framework is behind it.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nemecys.errors import InputError

FloatArray = NDArray[np.float64]

# skops lists every type it is not sure about. Types from these packages only rebuild fitted
# model state; any other type (a function, an arbitrary class) needs an explicit opt-in.
SKOPS_TRUSTED_PREFIXES = ("sklearn.", "xgboost.", "lightgbm.", "numpy.", "scipy.")
SKOPS_TRUSTED_TYPES = frozenset({"collections.OrderedDict"})

PICKLE_SUFFIXES = {".joblib", ".pkl", ".pickle"}
FORMATS = ("skops", "joblib", "pickle", "onnx", "xgboost", "lightgbm", "torchscript")


class ProbabilisticModel(Protocol):
    """A fitted classifier that returns one probability column per class in `classes`."""

    @property
    def classes(self) -> NDArray[Any]: ...

    @property
    def feature_names(self) -> list[str] | None: ...

    def predict_proba(self, X: pd.DataFrame) -> FloatArray: ...


@dataclass
class EstimatorModel:
    """A scikit-learn-compatible estimator (including XGBoost and LightGBM sklearn wrappers)."""

    estimator: Any

    @property
    def classes(self) -> NDArray[Any]:
        return np.asarray(self.estimator.classes_)

    @property
    def feature_names(self) -> list[str] | None:
        names = getattr(self.estimator, "feature_names_in_", None)
        return [str(n) for n in names] if names is not None else None

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        # An estimator fitted on a plain array warns when given column names, so give it one.
        data: Any = X if self.feature_names is not None else X.to_numpy()
        return np.asarray(self.estimator.predict_proba(data), dtype=np.float64)


@dataclass
class OnnxModel:
    """An ONNX classifier with one float tensor input of shape [N, n_features]."""

    session: Any
    input_name: str
    n_inputs: int | None
    class_labels: NDArray[Any]

    @property
    def classes(self) -> NDArray[Any]:
        return self.class_labels

    @property
    def feature_names(self) -> list[str] | None:
        return None

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        try:
            values = X.to_numpy(dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"the ONNX model needs numeric input columns; converting them failed: {exc}"
            ) from exc
        outputs = self.session.run(None, {self.input_name: values})
        return _probabilities_from_onnx(outputs, self.class_labels)


@dataclass
class BoosterModel:
    """A native XGBoost or LightGBM booster; binary models return P(class 1) only."""

    booster: Any
    kind: str
    class_labels: NDArray[Any]
    names: list[str] | None

    @property
    def classes(self) -> NDArray[Any]:
        return self.class_labels

    @property
    def feature_names(self) -> list[str] | None:
        return self.names

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        if self.kind == "xgboost":
            import xgboost

            raw = self.booster.predict(xgboost.DMatrix(X))
        else:
            raw = self.booster.predict(X)
        return _as_two_columns(np.asarray(raw, dtype=np.float64))


@dataclass
class TorchScriptModel:
    """A TorchScript module mapping a float tensor [N, n_features] to class probabilities."""

    module: Any
    class_labels: NDArray[Any]

    @property
    def classes(self) -> NDArray[Any]:
        return self.class_labels

    @property
    def feature_names(self) -> list[str] | None:
        return None

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        torch = importlib.import_module("torch")
        with torch.no_grad():
            result = self.module(torch.as_tensor(X.to_numpy(dtype=np.float32)))
        return _as_two_columns(np.asarray(result.detach().cpu().numpy(), dtype=np.float64))


def _as_two_columns(raw: FloatArray) -> FloatArray:
    if raw.ndim == 1:
        return np.column_stack([1.0 - raw, raw])
    return raw


def _probabilities_from_onnx(outputs: list[Any], class_labels: NDArray[Any]) -> FloatArray:
    """Pick the probability output: a float [N, C] tensor, or skl2onnx's list of dicts."""
    for output in outputs:
        if isinstance(output, list) and output and isinstance(output[0], dict):
            return np.array([[row[c] for c in class_labels] for row in output], dtype=np.float64)
        array = np.asarray(output)
        if array.ndim == 2 and array.dtype.kind == "f" and array.shape[1] == class_labels.size:
            return array.astype(np.float64)
    raise InputError(
        f"the ONNX model has no probability output with {class_labels.size} columns; "
        "export the classifier with its probability output (skl2onnx does by default)."
    )


def detect_format(path: Path) -> str:
    """Guess the model format from the file name."""
    suffix = path.suffix.lower()
    if suffix == ".skops":
        return "skops"
    if suffix in PICKLE_SUFFIXES:
        return "joblib" if suffix == ".joblib" else "pickle"
    if suffix == ".onnx":
        return "onnx"
    if suffix in {".ubj", ".xgb"}:
        return "xgboost"
    if suffix in {".pt", ".pth", ".torchscript"}:
        return "torchscript"
    raise InputError(
        f"cannot tell the model format of {path} from its suffix; "
        f"pass --model-format with one of {', '.join(FORMATS)}."
    )


def load_model(
    path: Path,
    *,
    model_format: str | None = None,
    unsafe_load: bool = False,
    class_labels: Sequence[Any] = (),
) -> ProbabilisticModel:
    """Load a fitted classifier. `class_labels` names the probability columns for formats
    that do not store them (ONNX tensors, native boosters, TorchScript)."""
    if not path.is_file():
        raise InputError(f"model file not found: {path}")
    fmt = model_format or detect_format(path)
    labels = np.asarray(list(class_labels), dtype=object)
    if fmt == "skops":
        return EstimatorModel(_load_skops(path, unsafe_load))
    if fmt in {"joblib", "pickle"}:
        return EstimatorModel(_load_pickle(path, fmt, unsafe_load))
    if fmt == "onnx":
        return _load_onnx(path, labels)
    if fmt in {"xgboost", "lightgbm"}:
        return _load_booster(path, fmt, labels)
    if fmt == "torchscript":
        return _load_torchscript(path, labels, unsafe_load)
    raise InputError(f"unknown model format '{fmt}'; expected one of {', '.join(FORMATS)}.")


def _require(module: str, purpose: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise InputError(
            f"{purpose} needs the Python package '{module}', which is not installed; "
            f"install it (pip install {module}) or convert the model to another format."
        )


def _load_skops(path: Path, unsafe_load: bool) -> Any:
    _require("skops", "loading a .skops model")
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # skops raises many types on a corrupt archive
        raise InputError(f"cannot read skops file {path}: {exc}") from exc
    unknown = [
        t
        for t in untrusted
        if not t.startswith(SKOPS_TRUSTED_PREFIXES) and t not in SKOPS_TRUSTED_TYPES
    ]
    if unknown and not unsafe_load:
        raise InputError(
            f"the skops file {path} contains types that could run code when loaded: {unknown}. "
            "Inspect them; pass --unsafe-load only if you trust the file."
        )
    try:
        return sio.load(path, trusted=untrusted)
    except Exception as exc:
        raise InputError(f"cannot load skops file {path}: {exc}") from exc


def _load_pickle(path: Path, fmt: str, unsafe_load: bool) -> Any:
    if not unsafe_load:
        raise InputError(
            f"refusing to load {path}: a {fmt} file is a pickle, and loading a pickle runs any "
            "code stored in it. Save the model with skops (skops.io.dump) or ONNX instead, or "
            "pass --unsafe-load if you trust where the file came from."
        )
    import joblib

    try:
        return joblib.load(path)
    except Exception as exc:  # unpickling can raise anything
        raise InputError(f"cannot load {fmt} file {path}: {exc}") from exc


def _default_labels(labels: NDArray[Any], n_columns: int, path: Path) -> NDArray[Any]:
    if labels.size:
        if labels.size != n_columns:
            raise InputError(
                f"the model {path} returns {n_columns} probability columns but "
                f"{labels.size} class labels were given ({labels.tolist()})."
            )
        return labels
    return np.arange(n_columns, dtype=object)


def _load_onnx(path: Path, labels: NDArray[Any]) -> OnnxModel:
    _require("onnxruntime", "loading an ONNX model")
    import onnxruntime

    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise InputError(f"cannot load ONNX model {path}: {exc}") from exc
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise InputError(
            f"the ONNX model {path} has {len(inputs)} inputs; only models with one "
            "[N, n_features] float input are supported."
        )
    shape = inputs[0].shape
    n_inputs = shape[1] if len(shape) == 2 and isinstance(shape[1], int) else None
    class_labels = labels
    if not class_labels.size:
        class_labels = _onnx_class_labels(session, path, n_inputs)
    return OnnxModel(session, inputs[0].name, n_inputs, class_labels)


def _onnx_class_labels(session: Any, path: Path, n_inputs: int | None) -> NDArray[Any]:
    """Read the class labels by running the model once on a row of zeros."""
    probe = np.zeros((1, n_inputs or 1), dtype=np.float32)
    outputs = session.run(None, {session.get_inputs()[0].name: probe})
    for output in outputs:
        if isinstance(output, list) and output and isinstance(output[0], dict):
            return np.asarray(sorted(output[0]), dtype=object)
        array = np.asarray(output)
        if array.ndim == 2 and array.dtype.kind == "f":
            return np.arange(array.shape[1], dtype=object)
    raise InputError(f"the ONNX model {path} has no probability output.")


def _load_booster(path: Path, fmt: str, labels: NDArray[Any]) -> BoosterModel:
    _require(fmt, f"loading a native {fmt} model")
    try:
        if fmt == "xgboost":
            import xgboost

            booster: Any = xgboost.Booster(model_file=str(path))
            names = booster.feature_names
            n_classes = _xgb_classes(booster)
        else:
            import lightgbm

            booster = lightgbm.Booster(model_file=str(path))
            names = booster.feature_name()
            n_classes = max(2, int(booster.num_model_per_iteration()))
    except InputError:
        raise
    except Exception as exc:  # both libraries raise their own error types
        raise InputError(f"cannot load {fmt} model {path}: {exc}") from exc
    return BoosterModel(booster, fmt, _default_labels(labels, n_classes, path), names)


def _xgb_classes(booster: Any) -> int:
    import json

    config = json.loads(booster.save_config())
    objective = config["learner"]["objective"]["name"]
    if objective.startswith("binary:"):
        return 2
    if objective.startswith("multi:"):
        return int(config["learner"]["learner_model_param"]["num_class"])
    raise InputError(f"the XGBoost model's objective '{objective}' is not a classifier.")


def _load_torchscript(path: Path, labels: NDArray[Any], unsafe_load: bool) -> TorchScriptModel:
    if not unsafe_load:
        raise InputError(
            f"refusing to load {path}: a TorchScript archive contains code that runs when the "
            "model is called. Pass --unsafe-load if you trust where the file came from."
        )
    _require("torch", "loading a TorchScript model")
    torch = importlib.import_module("torch")

    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # torch raises RuntimeError and others
        raise InputError(f"cannot load TorchScript model {path}: {exc}") from exc
    module.eval()
    if not labels.size:
        raise InputError(
            "a TorchScript model does not store its class labels; name them with --classes."
        )
    return TorchScriptModel(module, labels)


def true_class_probability(
    model: ProbabilisticModel, X: pd.DataFrame, y: NDArray[Any]
) -> FloatArray:
    """Return each row's predicted probability of its own label."""
    proba = model.predict_proba(X)
    return probability_of_labels(proba, model.classes, y)


def probability_of_labels(proba: FloatArray, classes: NDArray[Any], y: NDArray[Any]) -> FloatArray:
    """Pick column `classes.index(y[i])` of row i; labels the model never saw get 0."""
    if proba.ndim != 2 or proba.shape[0] != len(y):
        raise InputError(
            f"the model returned probabilities of shape {proba.shape} for {len(y)} rows."
        )
    lookup = {_label_key(c): i for i, c in enumerate(classes)}
    columns = np.array([lookup.get(_label_key(v), -1) for v in y], dtype=np.int64)
    picked = proba[np.arange(len(y)), np.maximum(columns, 0)]
    return np.where(columns >= 0, picked, 0.0)


def check_labels(model: ProbabilisticModel, y: NDArray[Any]) -> None:
    """Raise when the data has labels the model has no probability column for."""
    known = {_label_key(c) for c in model.classes}
    unknown = sorted({str(v) for v in y if _label_key(v) not in known})
    if unknown:
        raise InputError(
            f"the label column has values {unknown[:10]} that the model does not predict "
            f"(model classes: {[str(c) for c in model.classes]}). Check --label, or name the "
            "model's classes in order with --classes."
        )


def _label_key(value: Any) -> str:
    """Compare labels by text so 1, 1.0, '1' and numpy integers match."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, bool | np.bool_):
        return str(int(value))
    return str(value)
