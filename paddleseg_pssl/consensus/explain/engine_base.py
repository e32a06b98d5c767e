"""The explainer-engine interface of PSSL generation (arXiv 2207.03335, Section 3.2).

An engine turns one classifier, one normalised image and its class into a per-pixel map:
SmoothGrad (arXiv 1706.03825) as InterpretDL 0.8 computes it (``n_samples`` draws of
N(0, sigma^2), ``sigma = noise_amount * (max(x) - min(x))``, one sample after the other from
the global ``np.random``; the gradient of the label's probability, or logit), then one
aggregation of the noisy gradients g_s, summed over colour channels (the paper states none;
the default is measured, see _base_/generate.yml):

- ``abs_of_mean``: ``|mean_s g_s|``; ``mean_of_abs``: ``mean_s |g_s|``;
- ``squared``: ``mean_s g_s^2`` (arXiv 1806.10758);
- ``grad_x_input``: ``|sum_c x_c mean_s g_s,c|``.

Engines accumulate per-sample sums (:class:`GradientMoments`), so one pass gives every
aggregation and every prefix of the samples. Normalisation, Eq. 1 and Eq. 2: :mod:`.label_maths`.
"""
from __future__ import annotations

import abc
import contextlib
import io
import sys
import types
from dataclasses import dataclass
from typing import Any, ClassVar, Dict, List, Optional, Sequence, Tuple

import numpy as np
import paddle

from paddleseg_pssl.constants import NUMPY_LEGACY_SEED_LIMIT


@dataclass(frozen=True)
class ExplainerConfig:
    """``explainer:``, typed; every default declared here once. The paper states none of them:
    _base_/generate.yml says where each comes from (InterpretDL or the real-photo benchmark)."""

    engine: str = "batched"          # batched | interpretdl
    name: str = "smoothgrad"         # interpretdl engine: or integrated_gradients
    n_samples: int = 3
    noise_amount: float = 0.2
    gradient_of: str = "probability"
    aggregation: str = "abs_of_mean"
    batch_size: Any = "auto"         # batched only (speed only)
    amp: Any = "auto"
    amp_scale: float = 2.0 ** 12     # probability gradients underflow float16 unscaled
    noise_source: str = "device"
    steps: int = 50                  # interpretdl, integrated_gradients only
    baselines: Optional[str] = None
    num_random_trials: int = 10


ENGINE_DEFAULTS = ExplainerConfig()
DEFAULT_N_SAMPLES: int = ENGINE_DEFAULTS.n_samples
DEFAULT_NOISE_AMOUNT: float = ENGINE_DEFAULTS.noise_amount
DEFAULT_AGGREGATION: str = ENGINE_DEFAULTS.aggregation
DEFAULT_GRADIENT_OF: str = ENGINE_DEFAULTS.gradient_of

#: Where the noise is drawn: Paddle's generator on the device, or InterpretDL's numpy draws.
NOISE_SOURCES: Tuple[str, ...] = ("device", "numpy")
AGGREGATIONS: Tuple[str, ...] = ("abs_of_mean", "mean_of_abs", "squared", "grad_x_input")
#: The per-sample sum each aggregation reads (see :class:`GradientMoments`).
MOMENT_OF_AGGREGATION: Dict[str, str] = {"abs_of_mean": "sum", "mean_of_abs": "sum_abs",
                                         "squared": "sum_sq", "grad_x_input": "sum"}
MOMENTS: Tuple[str, ...] = ("sum", "sum_abs", "sum_sq")
#: Each moment's term of one sample's gradient (numpy arrays and Paddle tensors alike).
MOMENT_TERMS = {"sum": lambda g: g, "sum_abs": abs, "sum_sq": lambda g: g * g}
#: What is differentiated, as InterpretDL names it.
GRADIENT_TARGETS: Tuple[str, ...] = ("probability", "logit")
#: Seeds must fit numpy's legacy RNG (``np.random.seed``), which InterpretDL uses.
MAX_SEED: int = NUMPY_LEGACY_SEED_LIMIT

#: What InterpretDL 0.8 prints when imported on Paddle 3, where its optional interpreters miss
#: ``paddle.fluid``; Paddle itself is installed, so the line tells the user nothing.
INTERPRETDL_IMPORT_NOTICE = "Warning: Paddle should be installed before using some Interpreters."


def import_interpretdl() -> types.ModuleType:
    """``interpretdl``, imported without its misleading import-time notice (other output kept)."""
    imported = sys.modules.get("interpretdl")
    if imported is not None:  # None: the import is blocked, and raises below
        return imported
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        import interpretdl  # optional: requirements-nodeps.txt
    sys.stdout.write("".join(line for line in printed.getvalue().splitlines(keepends=True)
                             if line.strip() != INTERPRETDL_IMPORT_NOTICE))
    return interpretdl


class EngineConfigError(ValueError):
    """An ``explainer:`` setting is invalid; the message names the key and the fix."""


def device_kind() -> str:
    """``'gpu'`` when Paddle's current device is a GPU, else ``'cpu'`` (chunk and AMP policy)."""
    return "gpu" if paddle.get_device().startswith("gpu") else "cpu"


def is_positive_int(value: Any) -> bool:
    """Whether ``value`` is an ``int`` >= 1 (``True`` does not count)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def check_positive_int_setting(key: str, value: Any) -> None:
    if not is_positive_int(value):
        raise EngineConfigError(f"explainer.{key} must be a positive integer, got {value!r}")


def check_choice_setting(key: str, value: Any, choices: Sequence[Any]) -> None:
    if not isinstance(value, (str, bool, int, float, type(None))) or value not in choices:
        raise EngineConfigError(f"explainer.{key} must be one of {list(choices)}, "
                                f"got {value!r}")


class ThroughputSettings:
    """``batch_size``, ``amp``, ``amp_scale`` and ``noise_source`` of the batched engine and of
    its interpreter, checked here for both."""

    def set_throughput(self, batch_size: Any, amp: Any, amp_scale: Any, noise_source: str) -> None:
        if batch_size != "auto" and not is_positive_int(batch_size):
            raise EngineConfigError(f"explainer.batch_size must be a positive integer or "
                                    f"'auto', got {batch_size!r}")
        if amp not in ("auto", True, False):
            raise EngineConfigError(f"explainer.amp must be 'auto', true or false, got {amp!r}")
        if (isinstance(amp_scale, bool) or not isinstance(amp_scale, (int, float))
                or amp_scale <= 0):
            raise EngineConfigError(f"explainer.amp_scale must be a positive number, "
                                    f"got {amp_scale!r}")
        check_choice_setting("noise_source", noise_source, NOISE_SOURCES)
        self.batch_size = batch_size
        self.amp = amp
        self.amp_scale = float(amp_scale)
        self.noise_source = noise_source

    def resolved_amp(self) -> bool:
        """Whether to autocast to float16: ``'auto'`` = on GPU only; never on CPU (Paddle's CPU
        AMP is bfloat16 and slower than float32 on most CPUs)."""
        return bool(self.amp == "auto" or self.amp) and device_kind() == "gpu"


def check_inputs(inputs: np.ndarray) -> np.ndarray:
    """Validate a (1, 3, H, W) float32 model input and return it as a contiguous array."""
    arr = np.asarray(inputs)
    if arr.ndim != 4 or arr.shape[0] != 1 or arr.shape[1] != 3:
        raise ValueError(f"inputs must have shape (1, 3, H, W), got {arr.shape}")
    if arr.dtype != np.float32:
        raise ValueError(f"inputs must be float32 (see preprocess.to_model_input), got {arr.dtype}")
    return np.ascontiguousarray(arr)


def check_label(label: int) -> int:
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or label < 0:
        raise ValueError(f"label must be a non-negative integer class id, got {label!r}")
    return int(label)


def check_seed(seed: int) -> int:
    if (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
            or not 0 <= seed < MAX_SEED):
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    return int(seed)


def check_noise(noise: Optional[np.ndarray], n_samples: int,
                inputs: np.ndarray) -> Optional[np.ndarray]:
    """Given noise as a contiguous (n_samples, 3, H, W) float32 array (None stays None)."""
    if noise is None:
        return None
    noise = np.asarray(noise, dtype=np.float32)
    expected = (n_samples,) + tuple(inputs.shape[1:])
    if noise.shape != expected:
        raise ValueError(f"noise must have shape (n_samples, 3, H, W) = {expected}, "
                         f"got {noise.shape}")
    return np.ascontiguousarray(noise)


def check_checkpoints(checkpoints: Optional[Sequence[int]], n_samples: int) -> List[int]:
    """Sorted distinct sample counts in 1..n_samples, always ending with ``n_samples``."""
    counts = set(int(c) for c in (checkpoints or ()))
    if any(not 1 <= c <= n_samples for c in counts):
        raise ValueError(f"checkpoints must be sample counts in 1..{n_samples}, "
                         f"got {sorted(counts)}")
    return sorted(counts | {n_samples})


def noise_sigma(inputs: np.ndarray, noise_amount: float) -> float:
    """InterpretDL's noise standard deviation: ``noise_amount * (max - min)`` of the input."""
    return float(noise_amount * (np.max(inputs) - np.min(inputs)))


def numpy_smoothgrad_noise(inputs: np.ndarray, n_samples: int, noise_amount: float,
                           seed: int) -> np.ndarray:
    """The (n_samples, 3, H, W) float32 noise, already scaled by sigma, that InterpretDL's
    SmoothGrad draws after ``np.random.seed(seed)``, without touching the global numpy RNG."""
    inputs = check_inputs(inputs)
    rng = np.random.RandomState(check_seed(seed))
    sigma = noise_sigma(inputs, noise_amount)
    return np.concatenate([np.float32(rng.normal(0.0, sigma, inputs.shape))
                           for _ in range(n_samples)])


@dataclass
class GradientMoments:
    """Sums over ``n`` noise samples of the input gradients g_s: ``sum`` of g_s, ``sum_abs`` of
    |g_s|, ``sum_sq`` of g_s^2, each (3, H, W) float32 or None when not accumulated."""

    n: int
    sum: Optional[np.ndarray] = None
    sum_abs: Optional[np.ndarray] = None
    sum_sq: Optional[np.ndarray] = None

    def get(self, moment: str) -> np.ndarray:
        value = getattr(self, moment)
        if value is None:
            raise ValueError(f"moment {moment!r} was not accumulated (have "
                             f"{[m for m in MOMENTS if getattr(self, m) is not None]})")
        return np.asarray(value, dtype=np.float32)


def moments_needed(aggregations: Sequence[str]) -> Tuple[str, ...]:
    """The per-sample sums the given aggregations read, in :data:`MOMENTS` order."""
    for agg in aggregations:
        check_choice_setting("aggregation", agg, AGGREGATIONS)
    wanted = {MOMENT_OF_AGGREGATION[agg] for agg in aggregations}
    return tuple(m for m in MOMENTS if m in wanted)


def check_moments(moments: Sequence[str]) -> None:
    for moment in moments:
        check_choice_setting("moment", moment, MOMENTS)


def reduce_moments(moments: GradientMoments, aggregation: str,
                   inputs: Optional[np.ndarray] = None) -> np.ndarray:
    """The (H, W) float32 score map of ``aggregation`` (module docstring) from the sums;
    ``grad_x_input`` needs the (1, 3, H, W) un-noised model ``inputs``."""
    check_choice_setting("aggregation", aggregation, AGGREGATIONS)
    mean = moments.get(MOMENT_OF_AGGREGATION[aggregation]) / np.float32(moments.n)
    if aggregation == "abs_of_mean":
        return np.abs(mean).sum(axis=0).astype(np.float32)
    if aggregation == "grad_x_input":
        if inputs is None:
            raise ValueError("aggregation 'grad_x_input' needs the model input")
        return np.abs((mean * np.asarray(inputs, np.float32)[0]).sum(axis=0)).astype(np.float32)
    return mean.sum(axis=0).astype(np.float32)


class ExplainerEngine(abc.ABC):
    """Computes one classifier's per-pixel score map for one image. Subclasses take their own
    settings as keyword arguments and pass the rest (``**common``) on to this class."""

    engine: ClassVar[str] = ""  # its explainer.engine name

    def __init__(self, *, n_samples: int = ENGINE_DEFAULTS.n_samples,
                 noise_amount: float = ENGINE_DEFAULTS.noise_amount,
                 aggregation: str = ENGINE_DEFAULTS.aggregation,
                 gradient_of: str = ENGINE_DEFAULTS.gradient_of):
        check_positive_int_setting("n_samples", n_samples)
        if (isinstance(noise_amount, bool) or not isinstance(noise_amount, (int, float))
                or noise_amount < 0):
            raise EngineConfigError(f"explainer.noise_amount must be a number >= 0, "
                                    f"got {noise_amount!r}")
        check_choice_setting("aggregation", aggregation, AGGREGATIONS)
        check_choice_setting("gradient_of", gradient_of, GRADIENT_TARGETS)
        self.n_samples = n_samples
        self.noise_amount = float(noise_amount)
        self.aggregation = aggregation
        self.gradient_of = gradient_of

    def explain(self, model, inputs: np.ndarray, label: int, seed: int,
                noise: Optional[np.ndarray] = None) -> np.ndarray:
        """The (H, W) float32 score map of ``model`` for class ``label`` on one image: the
        aggregated gradients (module docstring), not normalised."""
        (moments,) = self.gradient_moments(model, inputs, label, seed, noise,
                                           moments=moments_needed([self.aggregation]))
        return reduce_moments(moments, self.aggregation, inputs)

    def gradient_moments(self, model, inputs: np.ndarray, label: int, seed: int,
                         noise: Optional[np.ndarray] = None, *,
                         moments: Sequence[str] = MOMENTS,
                         checkpoints: Optional[Sequence[int]] = None) -> List[GradientMoments]:
        """The per-sample gradient sums of :meth:`explain` after each of ``checkpoints``
        samples (prefixes of the same noise; ``n_samples`` is always the last), one
        :class:`GradientMoments` per checkpoint in increasing order."""
        inputs = check_inputs(inputs)
        label = check_label(label)
        noise = check_noise(noise, self.n_samples, inputs)
        check_moments(moments)
        counts = check_checkpoints(checkpoints, self.n_samples)
        return self._gradient_moments(model, inputs, label, seed, noise, moments, counts)

    @abc.abstractmethod
    def _gradient_moments(self, model, inputs: np.ndarray, label: int, seed: int,
                          noise: Optional[np.ndarray], moments: Sequence[str],
                          counts: List[int]) -> List[GradientMoments]:
        """:meth:`gradient_moments` on checked arguments (``counts``: the checkpoints)."""

    def check_ready(self) -> None:
        """Raise :class:`EngineConfigError` when the engine cannot run here (a missing package,
        an unsupported device), so generation stops at start-up rather than on every image."""

    def config(self) -> Dict[str, Any]:
        """Every setting that affects the output (for the manifest)."""
        return {"engine": self.engine, "name": "smoothgrad", "n_samples": self.n_samples,
                "noise_amount": self.noise_amount, "aggregation": self.aggregation,
                "gradient_of": self.gradient_of}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "engine")
        return f"{type(self).__name__}({args})"
