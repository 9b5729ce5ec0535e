"""Training recipes for the privacy mitigation trade-off: DP and regularised variants.

A manufacturer who finds that a model leaks membership can retrain it with differential
privacy or with stronger regularisation. To compare the two fairly, every variant here is
one unfitted-model recipe (`TrainingVariant.build()`), so the same attack and utility code
runs on all of them. A `TrainingVariant` also satisfies the `Recipe` protocol of
`nemecys.mlaudit.reference`, so reference models for LiRA and RMIA can be trained with it.

Back-ends:

* diffprivlib (IBM) for scikit-learn-style models with pure ε-DP (δ = 0):
  `LogisticRegression` (vector mechanism on the objective), `GaussianNB` (noisy means,
  variances and class counts) and `RandomForestClassifier` (random trees with noisy leaf
  counts). diffprivlib 0.6.6 imports only with scikit-learn < 1.8: 1.8 removed the
  `multi_class` argument its logistic regression passes on, and 1.9 removed
  `sklearn.tree._tree.DOUBLE`, which its forest imports.
* Opacus for a small PyTorch multilayer perceptron trained with DP-SGD (Poisson sampling,
  per-sample clipping), when `torch` and `opacus` are importable. The noise multiplier is
  calibrated with `nemecys.mlaudit.accounting`, so the ε reported is that accountant's.
* scikit-learn for the non-DP baseline and the regularisation alternative: inverse
  regularisation strength C for logistic regression, `var_smoothing` for naive Bayes,
  `min_samples_leaf` for random forests and weight decay for the perceptron.

DP needs bounds on the data that do not come from the training data itself: a model that
reads its feature ranges from the data it trains on leaks them. `FeatureBounds` carries
such bounds. Every DP variant first clips each feature to its bounds and scales it to
[0, 1] with a fixed transform, so the diffprivlib models get exact bounds and row norms.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from nemecys.mlaudit.accounting import epsilon as rdp_epsilon
from nemecys.mlaudit.accounting import noise_multiplier_for_epsilon

FloatArray = NDArray[np.float64]

Family = Literal["logistic_regression", "gaussian_nb", "random_forest", "torch_mlp"]
Mitigation = Literal["none", "dp", "regularisation"]

FAMILIES: tuple[Family, ...] = ("logistic_regression", "gaussian_nb", "random_forest", "torch_mlp")

# Defaults of each family's baseline; `TrainingVariant.options` overrides them.
RANDOM_FOREST_TREES = 100
DP_RANDOM_FOREST_TREES = 10
DP_RANDOM_FOREST_DEPTH = 5
LOGISTIC_MAX_ITER = 1000


def opacus_available() -> bool:
    """Return True when both PyTorch and Opacus can be imported."""
    return all(importlib.util.find_spec(name) is not None for name in ("torch", "opacus"))


@dataclass(frozen=True)
class FeatureBounds:
    """Lower and upper bound of every feature, known without looking at the training data.

    Sources that keep DP intact: the measuring device's range, a clinical reference range,
    or a public data set. Bounds read from the training data are not such a source.
    """

    lower: tuple[float, ...]
    upper: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.lower) != len(self.upper) or not self.lower:
            raise ValueError(
                f"bounds need one lower and one upper value per feature, got "
                f"{len(self.lower)} lower and {len(self.upper)} upper values"
            )
        for index, (low, high) in enumerate(zip(self.lower, self.upper, strict=True)):
            if not low < high:
                raise ValueError(f"feature {index}: lower bound {low} is not below upper {high}")

    @classmethod
    def from_data(cls, X: ArrayLike, margin: float = 0.0) -> FeatureBounds:
        """Return the range of each column of `X`, widened by `margin` of its width.

        Use it on public data or on a reference population, not on the training set of the
        model that claims DP.
        """
        values = np.asarray(X, dtype=np.float64)
        if values.ndim != 2 or values.shape[0] == 0:
            raise ValueError(f"expected a non-empty 2-D array, got shape {values.shape}")
        low = values.min(axis=0)
        high = values.max(axis=0)
        width = np.where(high > low, high - low, 1.0)
        low = low - margin * width
        high = np.where(high > low, high + margin * width, low + 1.0)
        return cls(tuple(float(v) for v in low), tuple(float(v) for v in high))

    @property
    def n_features(self) -> int:
        return len(self.lower)


def scale_to_unit(X: ArrayLike, lower: Sequence[float], upper: Sequence[float]) -> FloatArray:
    """Clip each column of `X` to [lower, upper] and map it linearly onto [0, 1]."""
    values = np.asarray(X, dtype=np.float64)
    low = np.asarray(lower, dtype=np.float64)
    high = np.asarray(upper, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != low.size:
        raise ValueError(f"expected {low.size} feature columns, got shape {values.shape}")
    return np.asarray((np.clip(values, low, high) - low) / (high - low), dtype=np.float64)


def _unit_scaler(bounds: FeatureBounds) -> Any:
    """Return a stateless transformer for `scale_to_unit`; fitting it learns nothing."""

    return FunctionTransformer(
        scale_to_unit,
        kw_args={"lower": bounds.lower, "upper": bounds.upper},
        validate=False,
    )


@dataclass(frozen=True)
class TrainingVariant:
    """One training recipe: a model family with no mitigation, with DP or regularised.

    `parameter` is ε for `mitigation="dp"`, the regularisation strength for
    `"regularisation"` (larger is stronger: 1/C, var_smoothing, min_samples_leaf or weight
    decay) and None for `"none"`. `delta` applies to DP-SGD only, because the diffprivlib
    models are pure ε-DP. `options` overrides family defaults such as `n_estimators`.
    """

    family: Family
    mitigation: Mitigation
    parameter: float | None = None
    bounds: FeatureBounds | None = None
    classes: tuple[Any, ...] | None = None
    delta: float = 0.0
    random_state: int | None = None
    options: tuple[tuple[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"unknown model family '{self.family}'; expected one of {FAMILIES}")
        if self.mitigation == "none":
            if self.parameter is not None:
                raise ValueError("a variant without mitigation takes no parameter")
            return
        if self.parameter is None or not self.parameter > 0 or math.isinf(self.parameter):
            raise ValueError(
                f"{self.mitigation} variant of {self.family} needs a positive finite "
                f"parameter, got {self.parameter}"
            )
        if self.mitigation == "dp":
            self._check_dp_inputs()

    def _check_dp_inputs(self) -> None:
        if self.bounds is None:
            raise ValueError(
                f"the DP variant of {self.family} needs FeatureBounds: DP models must not "
                "read feature ranges from their training data"
            )
        if self.family in ("gaussian_nb", "random_forest", "torch_mlp") and not self.classes:
            raise ValueError(
                f"the DP variant of {self.family} needs the class labels up front, because "
                "reading them from the training data reveals which classes occur"
            )
        if self.family == "torch_mlp" and not 0.0 < self.delta < 1.0:
            raise ValueError(f"DP-SGD needs 0 < delta < 1, got {self.delta}")

    @property
    def epsilon(self) -> float | None:
        """ε of a DP variant, None otherwise."""
        return self.parameter if self.mitigation == "dp" else None

    @property
    def label(self) -> str:
        """Short name for tables and plot legends, such as `dp ε=1` or `regularisation 10`."""
        if self.mitigation == "none":
            return "no mitigation"
        if self.mitigation == "dp":
            return f"dp ε={self.parameter:g}"
        return f"regularisation {self.parameter:g}"

    @property
    def description(self) -> str:
        """Identifier of the recipe, as `reference.Recipe` expects."""
        options = ", ".join(f"{key}={value!r}" for key, value in self.options)
        return f"{self.family} {self.label}" + (f" ({options})" if options else "")

    def build(self, random_state: int | None = None) -> Any:
        """Return a new unfitted estimator with `fit`, `predict_proba` and `classes_`.

        `random_state` overrides the variant's own seed, so that repeated trainings can each
        get a different but reproducible seed (and DP models fresh noise).
        """
        options = dict(self.options)
        seed = self.random_state if random_state is None else random_state
        if self.family == "torch_mlp":
            return self._build_torch(options, seed)
        if self.mitigation == "dp":
            return self._build_dp(options, seed)
        return self._build_plain(options, seed)

    def _build_plain(self, options: dict[str, Any], seed: int | None) -> Any:

        strength = self.parameter if self.mitigation == "regularisation" else None
        if self.family == "logistic_regression":
            C = 1.0 / strength if strength is not None else options.pop("C", 1.0)
            model = LogisticRegression(
                C=C,
                max_iter=options.pop("max_iter", LOGISTIC_MAX_ITER),
                random_state=seed,
                **options,
            )
            scaler = _unit_scaler(self.bounds) if self.bounds else StandardScaler()
            return make_pipeline(scaler, model)
        if self.family == "gaussian_nb":
            if strength is not None:
                options["var_smoothing"] = strength
            return GaussianNB(**options)
        if strength is not None:
            options["min_samples_leaf"] = max(1, round(strength))
        options.setdefault("n_estimators", RANDOM_FOREST_TREES)
        return RandomForestClassifier(random_state=seed, **options)

    def _build_dp(self, options: dict[str, Any], seed: int | None) -> Any:
        from diffprivlib import models as dp_models
        from diffprivlib.accountant import BudgetAccountant

        assert self.bounds is not None  # checked in __post_init__
        n_features = self.bounds.n_features
        unit_bounds = (np.zeros(n_features), np.ones(n_features))
        # A fresh accountant per model: diffprivlib's default one is global and would
        # accumulate the spend of every model built in this process.
        accountant = BudgetAccountant()
        if self.family == "logistic_regression":
            # After scaling to [0, 1]^d every row has L2 norm at most sqrt(d).
            model = dp_models.LogisticRegression(
                epsilon=self.parameter,
                data_norm=math.sqrt(n_features),
                max_iter=options.pop("max_iter", LOGISTIC_MAX_ITER),
                random_state=seed,
                accountant=accountant,
                **options,
            )
        elif self.family == "gaussian_nb":
            model = dp_models.GaussianNB(
                epsilon=self.parameter,
                bounds=unit_bounds,
                random_state=seed,
                accountant=accountant,
                **options,
            )
        else:
            options.setdefault("n_estimators", DP_RANDOM_FOREST_TREES)
            options.setdefault("max_depth", DP_RANDOM_FOREST_DEPTH)
            model = dp_models.RandomForestClassifier(
                epsilon=self.parameter,
                bounds=unit_bounds,
                classes=list(self.classes or ()),
                random_state=seed,
                accountant=accountant,
                **options,
            )
        return make_pipeline(_unit_scaler(self.bounds), model)

    def _build_torch(self, options: dict[str, Any], seed: int | None) -> Any:
        if not opacus_available():
            raise ImportError(
                "the torch_mlp family needs PyTorch and Opacus; install them with "
                "'pip install torch opacus' or choose a scikit-learn family"
            )
        weight_decay = self.parameter if self.mitigation == "regularisation" else None
        return DPMLPClassifier(
            bounds=self.bounds,
            classes=self.classes,
            target_epsilon=self.parameter if self.mitigation == "dp" else None,
            delta=self.delta,
            weight_decay=weight_decay or 0.0,
            random_state=seed,
            **options,
        )


def baseline_variant(family: Family, **kwargs: Any) -> TrainingVariant:
    """Return the family's recipe without mitigation."""
    return TrainingVariant(family, "none", **kwargs)


def dp_variants(
    family: Family,
    epsilons: Iterable[float],
    bounds: FeatureBounds,
    classes: Sequence[Any] | None = None,
    **kwargs: Any,
) -> list[TrainingVariant]:
    """Return one DP recipe of `family` per ε, largest ε (least noise) first."""
    ordered = sorted(set(epsilons), reverse=True)
    labels = tuple(classes) if classes is not None else None
    return [
        TrainingVariant(family, "dp", eps, bounds=bounds, classes=labels, **kwargs)
        for eps in ordered
    ]


def regularisation_variants(
    family: Family, strengths: Iterable[float], **kwargs: Any
) -> list[TrainingVariant]:
    """Return one regularised recipe of `family` per strength, weakest first."""
    return [
        TrainingVariant(family, "regularisation", strength, **kwargs)
        for strength in sorted(set(strengths))
    ]


class DPMLPClassifier:
    """A PyTorch multilayer perceptron trained with SGD, with DP-SGD through Opacus if asked.

    With `target_epsilon` set, training uses Opacus's Poisson-sampling data loader and
    per-sample gradient clipping to `max_grad_norm`. The noise multiplier is the smallest
    one for which this project's RDP accountant gives ε ≤ `target_epsilon` at `delta`, for
    sample rate 1/batches-per-epoch and epochs · batches-per-epoch steps, the values Opacus
    uses. After `fit`, `epsilon_` is that accountant's ε and `opacus_epsilon_` the one
    Opacus's own RDP accountant reports, for comparison.

    PyTorch and Opacus are imported when `fit` runs, so the class can be named without them.
    """

    def __init__(
        self,
        *,
        bounds: FeatureBounds | None = None,
        classes: Sequence[Any] | None = None,
        target_epsilon: float | None = None,
        delta: float = 1e-5,
        weight_decay: float = 0.0,
        hidden: Sequence[int] = (32,),
        epochs: int = 30,
        batch_size: int = 64,
        learning_rate: float = 0.1,
        max_grad_norm: float = 1.0,
        random_state: int | None = None,
    ) -> None:
        self.bounds = bounds
        self.classes = tuple(classes) if classes is not None else None
        self.target_epsilon = target_epsilon
        self.delta = delta
        self.weight_decay = weight_decay
        self.hidden = tuple(hidden)
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_grad_norm = max_grad_norm
        self.random_state = random_state
        self.classes_: NDArray[Any] = np.array([])
        self.noise_multiplier_: float | None = None
        self.sample_rate_: float | None = None
        self.steps_: int | None = None
        self.epsilon_: float | None = None
        self.opacus_epsilon_: float | None = None
        self._module: Any = None
        self._mean: FloatArray | None = None
        self._scale: FloatArray | None = None

    def _features(self, X: ArrayLike) -> FloatArray:
        if self.bounds is not None:
            return scale_to_unit(X, self.bounds.lower, self.bounds.upper)
        assert self._mean is not None and self._scale is not None
        return (np.asarray(X, dtype=np.float64) - self._mean) / self._scale

    def fit(self, X: ArrayLike, y: ArrayLike) -> DPMLPClassifier:
        """Train the network on `X` and labels `y`; return self."""
        torch: Any = importlib.import_module("torch")
        labels = np.asarray(y)
        self.classes_ = np.asarray(self.classes) if self.classes else np.unique(labels)
        codes = np.searchsorted(self.classes_, labels)
        if np.any(codes >= self.classes_.size) or np.any(self.classes_[codes] != labels):
            raise ValueError(f"labels outside the declared classes {list(self.classes_)}")
        if self.bounds is None:
            if self.target_epsilon is not None:
                raise ValueError("DP-SGD needs FeatureBounds to scale features without the data")
            values = np.asarray(X, dtype=np.float64)
            self._mean = values.mean(axis=0)
            self._scale = np.where(values.std(axis=0) > 0, values.std(axis=0), 1.0)

        generator = torch.Generator()
        if self.random_state is None:
            generator.seed()
        else:
            # Weight initialisation and Opacus's noise draw from torch's global generator.
            generator.manual_seed(self.random_state)
            torch.manual_seed(self.random_state)
        inputs = torch.tensor(self._features(X), dtype=torch.float32)
        targets = torch.tensor(codes, dtype=torch.long)
        module = self._network(torch, inputs.shape[1], self.classes_.size)
        optimizer = torch.optim.SGD(
            module.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
        )
        loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(inputs, targets),
            batch_size=self.batch_size,
            shuffle=True,
            generator=generator,
        )
        engine = None
        if self.target_epsilon is not None:
            engine, module_in_training, optimizer, loader = self._make_private(
                module, optimizer, loader
            )
        else:
            module_in_training = module

        loss_function = torch.nn.CrossEntropyLoss()
        module_in_training.train()
        for _ in range(self.epochs):
            for batch_inputs, batch_targets in loader:
                if len(batch_targets) == 0:
                    continue  # Poisson sampling can draw an empty batch
                optimizer.zero_grad()
                loss = loss_function(module_in_training(batch_inputs), batch_targets)
                loss.backward()
                optimizer.step()
        module.eval()
        self._module = module
        if engine is not None:
            self.opacus_epsilon_ = float(engine.get_epsilon(self.delta))
        return self

    def _network(self, torch: Any, n_inputs: int, n_outputs: int) -> Any:
        layers: list[Any] = []
        width = n_inputs
        for size in self.hidden:
            layers += [torch.nn.Linear(width, size), torch.nn.ReLU()]
            width = size
        layers.append(torch.nn.Linear(width, n_outputs))
        return torch.nn.Sequential(*layers)

    def _make_private(self, module: Any, optimizer: Any, loader: Any) -> tuple[Any, ...]:
        opacus: Any = importlib.import_module("opacus")
        assert self.target_epsilon is not None
        batches = len(loader)
        self.sample_rate_ = 1.0 / batches
        self.steps_ = self.epochs * batches
        self.noise_multiplier_ = noise_multiplier_for_epsilon(
            self.target_epsilon, self.sample_rate_, self.steps_, self.delta
        )
        self.epsilon_ = rdp_epsilon(
            self.noise_multiplier_, self.sample_rate_, self.steps_, self.delta
        )
        engine = opacus.PrivacyEngine(accountant="rdp")
        private_module, private_optimizer, private_loader = engine.make_private(
            module=module,
            optimizer=optimizer,
            data_loader=loader,
            noise_multiplier=self.noise_multiplier_,
            max_grad_norm=self.max_grad_norm,
            poisson_sampling=True,
        )
        return engine, private_module, private_optimizer, private_loader

    def predict_proba(self, X: ArrayLike) -> FloatArray:
        """Return class probabilities, one column per entry of `classes_`."""
        if self._module is None:
            raise ValueError("this DPMLPClassifier is not fitted yet; call fit first")
        torch: Any = importlib.import_module("torch")
        with torch.no_grad():
            logits = self._module(torch.tensor(self._features(X), dtype=torch.float32))
            probabilities = torch.softmax(logits, dim=1).numpy()
        return np.asarray(probabilities, dtype=np.float64)

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """Return the most probable class of each row."""
        return np.asarray(self.classes_[self.predict_proba(X).argmax(axis=1)])

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        """Return the accuracy on `X` and `y`."""
        return float(np.mean(self.predict(X) == np.asarray(y)))
