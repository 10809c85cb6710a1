"""The experiment spec: what a client asks gradatlas to train and record.

Pydantic and the standard library only (no NumPy), so the API can validate a
spec without loading the engine. Field names and literals are the public
contract (docs/contract.md § Spec); registries elsewhere are keyed by
the same literals.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Annotated, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

Activation = Literal[
    "sigmoid", "tanh", "relu", "leaky_relu", "swish", "gelu", "elu", "selu", "linear"
]
Init = Literal[
    "normal",
    "standard",
    "xavier_uniform",
    "xavier_normal",
    "he_uniform",
    "he_normal",
    "lecun_normal",
    "orthogonal",
]
Dataset = Literal["spiral", "moons", "circles", "xor", "blobs", "gaussian", "digits"]
Optimizer = Literal["sgd", "momentum", "adam"]
DType = Literal["float32", "float64"]

ACTIVATION_NAMES: tuple[str, ...] = get_args(Activation)
INIT_NAMES: tuple[str, ...] = get_args(Init)
DATASET_NAMES: tuple[str, ...] = get_args(Dataset)
OPTIMIZER_NAMES: tuple[str, ...] = get_args(Optimizer)

MAX_DEPTH = 500
MAX_WIDTH = 4096
#: Bounds of ``model.init_gain`` and ``model.bias_std``: wide enough to walk through the
#: order-to-chaos transition (tanh's lies near gain 1), narrow enough to stay finite
#: (below MIN_INIT_GAIN, sigma_w^2 of a deep net underflows float64 in the theory).
MIN_INIT_GAIN = 1e-3
MAX_INIT_GAIN = 10.0
MAX_BIAS_STD = 10.0
#: Records kept when ``recording.every_steps`` is left to the engine.
TARGET_RECORDS = 1000

Width = Annotated[int, Field(ge=1, le=MAX_WIDTH)]


class _Strict(BaseModel):
    # strict: JSON true is not depth 1 and "5" is not 5; no NaN or infinity in any float.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    def _invalid(self, field: str, message: str) -> ValidationError:
        """An error at ``field`` of this model, for a model validator to raise.

        Pydantic puts the model's own location in front (``model`` + ``width``), so
        the error names its field by location, never in its message. Its input is
        the model, as for any model validator's error: no single value to echo.
        """
        error = PydanticCustomError("value_error", message)
        return ValidationError.from_exception_data(
            type(self).__name__, [InitErrorDetails(type=error, loc=(field,), input=self)]
        )


class ModelSpec(_Strict):
    """The network: ``depth`` hidden layers between the inputs and the logits."""

    depth: int = Field(ge=1, le=MAX_DEPTH, description="Number of hidden layers.")
    width: Width | list[Width] = Field(
        default=128, description="Units per hidden layer, or a list of `depth` widths."
    )
    activation: Activation = Field(description="Hidden-layer non-linearity.")
    negative_slope: float = Field(
        default=0.01, ge=0.0, le=1.0, description="Slope of leaky_relu for x < 0."
    )
    init: Init = Field(default="xavier_normal", description="Weight initialiser.")
    init_gain: float = Field(
        default=1.0,
        ge=MIN_INIT_GAIN,
        le=MAX_INIT_GAIN,
        description="Multiplies the initialiser's standard deviation (sigma_w = gain x its own).",
    )
    bias_std: float = Field(
        default=0.0,
        ge=0.0,
        le=MAX_BIAS_STD,
        description="Biases start N(0, bias_std^2); 0 (the default) starts them at zero.",
    )
    batch_norm: bool = Field(
        default=False, description="Batch-normalise every hidden pre-activation."
    )
    residual: bool = Field(
        default=False,
        description="Group hidden-to-hidden layers in blocks with an identity skip.",
    )
    residual_every: int = Field(
        default=2, ge=1, le=MAX_DEPTH, description="Dense layers per residual block."
    )
    dtype: DType = Field(default="float32", description="Floating-point precision.")

    @model_validator(mode="after")
    def _widths_fit(self) -> Self:
        if isinstance(self.width, list):
            if len(self.width) != self.depth:
                raise self._invalid(
                    "width",
                    f"a list must hold one width per hidden layer: "
                    f"model.depth is {self.depth} but the list has {len(self.width)}",
                )
            if self.residual and len(set(self.width)) > 1:
                raise self._invalid(
                    "width",
                    "residual blocks add a layer's input to its output, "
                    "so every hidden layer needs the same width when model.residual is true",
                )
        return self

    @property
    def widths(self) -> list[int]:
        """The width of each hidden layer, ``depth`` numbers."""
        if isinstance(self.width, list):
            return list(self.width)
        return [self.width] * self.depth


class DataSpec(_Strict):
    """The data set and its train/validation split."""

    dataset: Dataset = Field(default="spiral", description="Which data set.")
    n_samples: int | None = Field(
        default=None,
        ge=10,
        le=200_000,
        description="Examples in all; default 2000 (digits: all 1,797, or fewer if set).",
    )
    n_features: int | None = Field(
        default=None,
        ge=1,
        le=4096,
        description="Input dimension where the data set lets it vary (gaussian, blobs).",
    )
    n_classes: int | None = Field(
        default=None,
        ge=2,
        le=100,
        description="Number of labels where the data set lets it vary (gaussian, blobs, spiral).",
    )
    noise: float = Field(default=0.2, ge=0.0, le=5.0, description="Noise level.")
    val_fraction: float = Field(
        default=0.2, gt=0.0, lt=1.0, description="Share of examples held out."
    )

    @model_validator(mode="after")
    def _shape_fits(self) -> Self:
        shape = DATASET_SHAPES[self.dataset]
        fixed_features = self.n_features is not None and not shape.features_vary
        if fixed_features and self.n_features != shape.n_features:
            raise self._invalid(
                "n_features",
                f"{self.dataset} has {shape.n_features} features; "
                f"only gaussian and blobs let it vary",
            )
        fixed_classes = self.n_classes is not None and not shape.classes_vary
        if fixed_classes and self.n_classes != shape.n_classes:
            raise self._invalid(
                "n_classes",
                f"{self.dataset} has {shape.n_classes} classes; "
                f"only gaussian, blobs and spiral let it vary",
            )
        too_many = self.n_samples is not None and self.n_samples > DIGITS_SAMPLES
        if self.dataset == "digits" and too_many:
            raise self._invalid(
                "n_samples", f"digits has {DIGITS_SAMPLES} images; ask for at most that many"
            )
        n_val = round(self.samples * self.val_fraction)
        if n_val < 1 or self.samples - n_val < 1:
            raise self._invalid(
                "val_fraction",
                f"{self.val_fraction} of {self.samples} examples "
                f"leaves an empty training or validation set",
            )
        return self

    @property
    def samples(self) -> int:
        if self.n_samples is not None:
            return self.n_samples
        return DATASET_SHAPES[self.dataset].n_samples

    @property
    def features(self) -> int:
        return self.n_features or DATASET_SHAPES[self.dataset].n_features

    @property
    def classes(self) -> int:
        return self.n_classes or DATASET_SHAPES[self.dataset].n_classes

    @property
    def n_val(self) -> int:
        return round(self.samples * self.val_fraction)

    @property
    def n_train(self) -> int:
        return self.samples - self.n_val


class TrainingSpec(_Strict):
    """The optimiser and its schedule."""

    optimizer: Optimizer = Field(default="sgd", description="sgd, momentum or adam.")
    learning_rate: float = Field(default=0.05, gt=0.0, le=10.0)
    momentum: float = Field(default=0.9, ge=0.0, lt=1.0, description="Momentum, and Adam's beta1.")
    beta2: float = Field(default=0.999, ge=0.0, lt=1.0, description="Adam's beta2.")
    eps: float = Field(default=1e-8, gt=0.0, le=1.0, description="Adam's epsilon.")
    batch_size: int = Field(default=64, ge=1, le=8192)
    epochs: int = Field(default=20, ge=1, le=10_000)
    weight_decay: float = Field(
        default=0.0, ge=0.0, le=1.0, description="L2 penalty (lambda/2)*||W||^2 on weights."
    )
    clip_grad_norm: float | None = Field(
        default=None, gt=0.0, description="Rescale the gradient to this global norm."
    )


class RecordingSpec(_Strict):
    """How often per-layer statistics are recorded."""

    every_steps: int | None = Field(
        default=None,
        ge=1,
        description=f"Steps between records; default: about {TARGET_RECORDS} records in all.",
    )
    histogram_bins: int = Field(default=40, ge=5, le=200)


class ExperimentSpec(_Strict):
    """One experiment: a network, a data set, a training schedule, a recording plan."""

    name: str = Field(default="experiment", min_length=1, max_length=200)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    model: ModelSpec
    data: DataSpec = Field(default_factory=DataSpec)
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    recording: RecordingSpec = Field(default_factory=RecordingSpec)

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.data.n_train / self.training.batch_size)

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.training.epochs

    @property
    def every_steps(self) -> int:
        """Steps between records, resolved."""
        if self.recording.every_steps is not None:
            return self.recording.every_steps
        return max(1, math.ceil(self.total_steps / TARGET_RECORDS))

    @property
    def record_steps(self) -> list[int]:
        """The steps at which statistics are recorded: 0, every k-th, and the last.

        Steps are numbered from 0 to ``total_steps - 1``; step s is the s-th update.
        """
        last = self.total_steps - 1
        steps = list(range(0, last + 1, self.every_steps))
        if steps[-1] != last:
            steps.append(last)
        return steps

    def cost(self) -> Cost:
        """What running this spec costs, for a server to cap.

        An upper bound: evaluation is counted over every sample each epoch, though the
        engine evaluates only the validation set (each epoch and once at the end).
        """
        m, d = self.model, self.data
        dims = [d.features, *m.widths, d.classes]
        params = sum(a * b + b for a, b in itertools.pairwise(dims))
        if m.batch_norm:
            params += 2 * sum(m.widths)
        # A dense step costs 2 flops per multiply-add forward and twice that backward.
        step_flops = 6 * self.training.batch_size * params
        eval_flops = 2 * d.samples * params * self.training.epochs
        n_records = len(self.record_steps)
        return Cost(
            parameters=params,
            steps=self.total_steps,
            flops=step_flops * self.total_steps + eval_flops,
            records=n_records,
            record_values=n_records * (m.depth + 1) * len(LAYER_STATS),
        )

    def memory(self) -> Memory:
        """Bytes a worker holds to run this spec, for a server to cap (an estimate).

        Parameters: the flat parameter and gradient vectors, the recorder's copy of
        the initial weights and its scratch difference, the update buffer and the
        optimiser's state (momentum 1, Adam 2 vectors): ``(5 + slots) * P`` floats.
        Activations: per hidden layer and example the pre-activation, the output and
        two gradient buffers (two more with batch norm). Data: the float64 inputs and
        labels, twice (generation, then the split).
        """
        m, d, t = self.model, self.data, self.training
        size = 8 if m.dtype == "float64" else 4
        params = self.cost().parameters
        slots = {"sgd": 0, "momentum": 1, "adam": 2}[t.optimizer]
        batch = min(t.batch_size, d.n_train)
        units = d.features + sum(m.widths) + d.classes
        return Memory(
            parameters=(5 + slots) * params * size,
            activations=batch * units * (6 if m.batch_norm else 4) * size,
            data=2 * d.samples * (d.features + 1) * 8,
        )


@dataclass(frozen=True)
class Memory:
    """Bytes of a run (``ExperimentSpec.memory``), by what they hold."""

    parameters: int
    activations: int
    data: int

    @property
    def total(self) -> int:
        return self.parameters + self.activations + self.data

    @property
    def field(self) -> str:
        """The spec field to lower first: the one behind the largest part."""
        parts = {
            "model.width": self.parameters,
            "training.batch_size": self.activations,
            "data.n_samples": self.data,
        }
        return max(parts, key=lambda f: parts[f])


@dataclass(frozen=True)
class Cost:
    parameters: int
    steps: int
    flops: int
    records: int
    #: Floats in the recorded statistics: what the result's size grows with.
    record_values: int


@dataclass(frozen=True)
class DatasetShape:
    n_samples: int
    n_features: int
    n_classes: int
    features_vary: bool
    classes_vary: bool


DIGITS_SAMPLES = 1797

DATASET_SHAPES: dict[str, DatasetShape] = {
    "spiral": DatasetShape(2000, 2, 3, features_vary=False, classes_vary=True),
    "moons": DatasetShape(2000, 2, 2, features_vary=False, classes_vary=False),
    "circles": DatasetShape(2000, 2, 2, features_vary=False, classes_vary=False),
    "xor": DatasetShape(2000, 2, 2, features_vary=False, classes_vary=False),
    "blobs": DatasetShape(2000, 2, 3, features_vary=True, classes_vary=True),
    "gaussian": DatasetShape(2000, 16, 2, features_vary=True, classes_vary=True),
    "digits": DatasetShape(DIGITS_SAMPLES, 64, 10, features_vary=False, classes_vary=False),
}

#: Per-layer statistics of a record (docs/contract.md § Statistics), in payload order.
LAYER_STATS: tuple[str, ...] = (
    "grad_norm",
    "grad_mean",
    "grad_std",
    "grad_max_abs",
    "backprop_norm",
    "weight_norm",
    "update_ratio",
    "weight_change",
    "activation_mean",
    "activation_std",
    "saturation",
    "dead_fraction",
    "derivative_rms",
    "example_grad_rms",
    "grad_snr",
)
