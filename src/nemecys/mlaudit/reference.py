"""Train reference models on the population pool with the target's training recipe.

Reference (shadow) models tell the attacker how a record's model output is distributed when
the record is in the training set and when it is not. Each reference model is trained on a
random share of the pool's patients, drawn so that every patient is in exactly
round(fraction * M) of the M models. Models are trained in parallel with joblib. Each one's
outputs are written to a cache file as soon as it is done, so an interrupted audit resumes
where it stopped.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import io
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.base import clone

from nemecys.errors import InputError
from nemecys.fileio import write_atomic
from nemecys.mlaudit.models import EstimatorModel, probability_of_labels

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Features: TypeAlias = pd.DataFrame | NDArray[Any]

# A JSON spec may only name estimators from these packages, so that reading a spec never
# imports arbitrary code. A Python factory is the way to use anything else.
SPEC_MODULE_PREFIXES = ("sklearn.", "xgboost.", "lightgbm.")


class Recipe(Protocol):
    """How to build one unfitted model; `description` identifies it in reports and caches."""

    @property
    def description(self) -> str: ...

    def build(self) -> Any: ...


@dataclass(frozen=True)
class EstimatorRecipe:
    """Clone a scikit-learn-compatible estimator: same class and hyper-parameters, unfitted."""

    estimator: Any

    @property
    def description(self) -> str:
        return f"clone of {clone(self.estimator)!r}"

    def build(self) -> Any:
        return clone(self.estimator)


@dataclass(frozen=True)
class SpecRecipe:
    """An estimator class from scikit-learn, XGBoost or LightGBM with keyword parameters."""

    class_path: str
    params: dict[str, Any]

    @property
    def description(self) -> str:
        return f"{self.class_path}(**{json.dumps(self.params, sort_keys=True)})"

    def build(self) -> Any:
        return _import_attribute(self.class_path)(**self.params)


@dataclass(frozen=True)
class FactoryRecipe:
    """A user function `FILE.py:NAME` or `module:NAME` that returns an unfitted model.

    Loading it runs the user's code, which is the point: the user owns the recipe.
    """

    target: str

    @property
    def description(self) -> str:
        return f"factory {self.target}"

    def build(self) -> Any:
        return resolve_factory(self.target)()


@dataclass(frozen=True)
class CallableRecipe:
    """A Python callable given through the API; joblib's loky backend pickles it by value."""

    factory: Callable[[], Any]
    label: str = ""

    @property
    def description(self) -> str:
        return self.label or f"callable {getattr(self.factory, '__qualname__', repr(self.factory))}"

    def build(self) -> Any:
        return self.factory()


def _import_attribute(class_path: str) -> Any:
    module_name, _, name = class_path.rpartition(".")
    if not class_path.startswith(SPEC_MODULE_PREFIXES) or not module_name:
        raise InputError(
            f"the reference spec names '{class_path}'; a spec may only name an estimator class "
            f"from {', '.join(p.rstrip('.') for p in SPEC_MODULE_PREFIXES)}. Use "
            "--reference-factory FILE.py:FUNCTION for anything else."
        )
    try:
        return getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as exc:
        raise InputError(f"cannot import '{class_path}' from the reference spec: {exc}") from exc


def load_spec(path: Path) -> SpecRecipe:
    """Read a JSON spec: {"estimator": "sklearn.ensemble.X", "params": {...}}."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read reference spec {path}: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("estimator"), str):
        raise InputError(
            f'invalid reference spec {path}: expected {{"estimator": "sklearn.ensemble.'
            'RandomForestClassifier", "params": {...}}'
        )
    params = document.get("params", {})
    if not isinstance(params, dict):
        raise InputError(f"invalid reference spec {path}: 'params' must be an object.")
    recipe = SpecRecipe(document["estimator"], params)
    try:
        recipe.build()
    except TypeError as exc:
        raise InputError(f"invalid parameters in reference spec {path}: {exc}") from exc
    return recipe


def resolve_factory(target: str) -> Callable[[], Any]:
    """Import `FILE.py:NAME` or `module:NAME` and return the callable."""
    location, sep, name = target.rpartition(":")
    if not sep or not location or not name:
        raise InputError(
            f"invalid factory '{target}': expected FILE.py:FUNCTION or module:FUNCTION."
        )
    if location.endswith(".py"):
        path = Path(location)
        if not path.is_file():
            raise InputError(f"factory file not found: {path}")
        module_name = (
            f"_nemecys_factory_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]}"
        )
        module = sys.modules.get(module_name)
        if module is None:
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                raise InputError(f"cannot import factory file {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(location)
        except ImportError as exc:
            raise InputError(f"cannot import factory module '{location}': {exc}") from exc
    factory = getattr(module, name, None)
    if not callable(factory):
        raise InputError(f"'{name}' in {location} is not a callable factory.")
    return factory  # type: ignore[no-any-return]


def assign_patients(n_models: int, n_patients: int, fraction: float, seed: int) -> BoolArray:
    """Return an (M, P) mask: patient p is in model m's training set.

    Each patient is in exactly round(fraction * M) models, which balances IN and OUT models
    per patient; training-set sizes vary around fraction * P.
    """
    if n_models < 2:
        raise InputError(f"at least 2 reference models are needed, got {n_models}.")
    if not 0.0 < fraction < 1.0:
        raise InputError(f"the reference training fraction must be in (0, 1), got {fraction}.")
    per_patient = min(max(round(fraction * n_models), 1), n_models - 1)
    rng = np.random.default_rng(seed)
    ranks = rng.random((n_models, n_patients)).argsort(axis=0).argsort(axis=0)
    return ranks < per_patient


@dataclass(frozen=True)
class ReferenceOutputs:
    """True-class probabilities of M reference models on the N pool rows, and IN masks."""

    true_prob: FloatArray  # (M, N)
    correct: BoolArray  # (M, N): predicted class equals the label
    row_in: BoolArray  # (M, N): row was in the model's training set
    patient_in: BoolArray  # (M, P)
    description: str

    @property
    def n_models(self) -> int:
        return int(self.true_prob.shape[0])

    def out_accuracy(self) -> float:
        """Mean accuracy of the reference models on the rows they did not see."""
        return float(self.correct[~self.row_in].mean())


def _take(X: Features, rows: NDArray[np.int64]) -> Features:
    if isinstance(X, pd.DataFrame):
        return X.iloc[rows]
    return np.asarray(X)[rows]


def _fit_one(
    recipe: Recipe, X: Features, y: NDArray[Any], rows: NDArray[np.int64], path: Path | None
) -> tuple[FloatArray, BoolArray]:
    """Fit one reference model on `rows`, score every row and save the result to `path`."""
    model = recipe.build()
    model.fit(_take(X, rows), y[rows])
    wrapped = EstimatorModel(model)
    proba = wrapped.predict_proba(X) if isinstance(X, pd.DataFrame) else _proba_array(model, X)
    true_prob = probability_of_labels(proba, wrapped.classes, y)
    predicted = np.asarray(wrapped.classes)[proba.argmax(axis=1)]
    correct = np.array([str(p) == str(t) for p, t in zip(predicted, y, strict=True)])
    if path is not None:
        buffer = io.BytesIO()
        np.savez(buffer, true_prob=true_prob, correct=correct)
        write_atomic(path, buffer.getvalue())
    return true_prob, correct


def _proba_array(model: Any, X: NDArray[Any]) -> FloatArray:
    return np.asarray(model.predict_proba(X), dtype=np.float64)


def _cache_key(
    recipe: Recipe, X: Features, y: NDArray[Any], assignment: BoolArray, groups: NDArray[Any]
) -> str:
    digest = hashlib.sha256()
    digest.update(recipe.description.encode())
    if isinstance(X, pd.DataFrame):
        digest.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    else:
        digest.update(np.ascontiguousarray(X).tobytes())
    digest.update("\x1f".join(map(str, y)).encode())
    digest.update("\x1f".join(map(str, groups)).encode())
    digest.update(np.packbits(assignment).tobytes())
    digest.update(str(assignment.shape).encode())
    return digest.hexdigest()[:20]


def train_references(
    recipe: Recipe,
    X: Features,
    y: NDArray[Any],
    patient_index: NDArray[np.int64],
    *,
    n_models: int,
    fraction: float = 0.5,
    seed: int = 0,
    n_jobs: int = -1,
    cache_dir: Path | None = None,
) -> ReferenceOutputs:
    """Train `n_models` reference models and return their outputs on every pool row.

    With `cache_dir`, finished models' outputs are stored under a key made from the recipe,
    the data and the split, and reused by a later call with the same inputs.
    """
    from joblib import Parallel, delayed

    n_patients = int(patient_index.max()) + 1
    patient_in = assign_patients(n_models, n_patients, fraction, seed)
    row_in = patient_in[:, patient_index]

    folder: Path | None = None
    if cache_dir is not None:
        folder = cache_dir / _cache_key(recipe, X, y, patient_in, patient_index)
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(
            folder / "recipe.json",
            json.dumps({"recipe": recipe.description, "models": n_models, "seed": seed}),
        )

    results: dict[int, tuple[FloatArray, BoolArray]] = {}
    todo: list[int] = []
    for m in range(n_models):
        path = folder / f"ref-{m:04d}.npz" if folder else None
        if path is not None and path.is_file():
            with np.load(path) as saved:
                results[m] = (saved["true_prob"], saved["correct"])
        else:
            todo.append(m)
    if results:
        logger.info("reusing %d cached reference models from %s", len(results), folder)
    logger.info("training %d reference models: %s", len(todo), recipe.description)

    try:
        fitted = Parallel(n_jobs=n_jobs)(
            delayed(_fit_one)(
                recipe,
                X,
                y,
                np.flatnonzero(row_in[m]),
                folder / f"ref-{m:04d}.npz" if folder else None,
            )
            for m in todo
        )
    except (ValueError, TypeError) as exc:
        # What estimators raise on data they cannot fit; the recipe is user input.
        raise InputError(
            f"training a reference model ({recipe.description}) failed: {exc}. Check that the "
            "recipe can be fitted on the feature columns of the tables."
        ) from exc
    results.update(zip(todo, fitted, strict=True))
    return ReferenceOutputs(
        true_prob=np.stack([results[m][0] for m in range(n_models)]),
        correct=np.stack([results[m][1] for m in range(n_models)]),
        row_in=row_in,
        patient_in=patient_in,
        description=recipe.description,
    )
