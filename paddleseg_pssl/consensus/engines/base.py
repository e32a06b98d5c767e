"""The explainer-engine interface of PSSL generation (arXiv 2207.03335, Section 3.2).

An engine turns one classifier, one normalised image and the image's own class into a per-pixel
score map: SmoothGrad (Smilkov et al., arXiv 1706.03825) as InterpretDL computes it, then
``|gradient|`` summed over the colour channels. Normalisation, resizing, averaging across models
(Eq. 1) and deciles (Eq. 2) belong to the label maths, not to engines.

SmoothGrad, as InterpretDL 0.8 ``SmoothGradInterpreter`` does it (verified on Paddle 3.3):

- noise: ``n_samples`` draws of N(0, sigma^2) per input element, with
  ``sigma = noise_amount * (max(x) - min(x))`` over the whole normalised input of the image;
  InterpretDL draws them with the global ``np.random.normal(0, sigma, (1, 3, H, W))``, one
  sample after the other (:func:`numpy_smoothgrad_noise` reproduces this exactly);
- target: the softmax probability of the label (``gradient_of='probability'``; ``'logit'``
  is also accepted), differentiated w.r.t. the noisy input;
- result: the signed gradients averaged over the samples, shape (N, 3, H, W).

Aggregation of the noisy gradients into a map:

- ``abs_of_mean`` (default, the paper's setting): ``|mean_s g_s|`` summed over channels;
- ``mean_of_abs``: ``mean_s |g_s|`` summed over channels.
"""
from __future__ import annotations

import abc
from typing import Any, ClassVar, Dict, Optional, Sequence, Tuple

import numpy as np

#: Aggregation modes of the noisy gradients (see the module docstring).
AGGREGATIONS: Tuple[str, ...] = ("abs_of_mean", "mean_of_abs")

#: What is differentiated, as InterpretDL names it.
GRADIENT_TARGETS: Tuple[str, ...] = ("probability", "logit")

#: Seeds must fit numpy's legacy RNG (``np.random.seed``), which InterpretDL uses.
MAX_SEED: int = 2 ** 32


class EngineConfigError(ValueError):
    """An ``explainer:`` setting is invalid; the message names the key and the fix."""


def is_positive_int(value: Any) -> bool:
    """Whether ``value`` is an ``int`` >= 1 (``True`` does not count)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def check_positive_int_setting(key: str, value: Any) -> None:
    """Raise :class:`EngineConfigError` unless ``explainer.<key>`` is a positive integer."""
    if not is_positive_int(value):
        raise EngineConfigError(f"explainer.{key} must be a positive integer, got {value!r}")


def check_choice_setting(key: str, value: Any, choices: Sequence[Any]) -> None:
    """Raise :class:`EngineConfigError` unless ``explainer.<key>`` is one of ``choices``."""
    if value not in choices:
        raise EngineConfigError(f"explainer.{key} must be one of {list(choices)}, "
                                f"got {value!r}")


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


def noise_sigma(inputs: np.ndarray, noise_amount: float) -> float:
    """InterpretDL's noise standard deviation: ``noise_amount * (max - min)`` of the input."""
    return float(noise_amount * (np.max(inputs) - np.min(inputs)))


def numpy_smoothgrad_noise(inputs: np.ndarray, n_samples: int, noise_amount: float,
                           seed: int) -> np.ndarray:
    """The noise InterpretDL's SmoothGrad draws after ``np.random.seed(seed)``, without touching
    the global numpy RNG.

    Args:
        inputs: (1, 3, H, W) float32 model input.
        n_samples: Number of noise samples.
        noise_amount: Relative noise level.
        seed: Seed in [0, 2**32).

    Returns:
        (n_samples, 3, H, W) float32 absolute noise (already scaled by sigma), to be added to
        ``inputs``.
    """
    inputs = check_inputs(inputs)
    rng = np.random.RandomState(check_seed(seed))
    # InterpretDL: stds = noise_amount * (max - min) over axes (1, 2, 3), one per image.
    axes = tuple(range(1, inputs.ndim))
    sigma = noise_amount * (np.max(inputs, axis=axes) - np.min(inputs, axis=axes))[0]
    shape = (1,) + tuple(inputs.shape[1:])
    return np.concatenate([np.float32(rng.normal(0.0, sigma, shape)) for _ in range(n_samples)])


def reduce_gradient_sum(total: np.ndarray, n_samples: int, aggregation: str) -> np.ndarray:
    """Turn the per-sample sum of gradients (``abs_of_mean``) or of |gradients|
    (``mean_of_abs``), shape (3, H, W), into the (H, W) float32 score map."""
    mean = np.asarray(total, dtype=np.float32) / np.float32(n_samples)
    if aggregation == "abs_of_mean":
        mean = np.abs(mean)
    elif aggregation != "mean_of_abs":
        raise ValueError(f"aggregation must be one of {list(AGGREGATIONS)}, got {aggregation!r}")
    return mean.sum(axis=0).astype(np.float32)


class ExplainerEngine(abc.ABC):
    """Computes one classifier's per-pixel score map for one image.

    Args:
        n_samples: SmoothGrad noise samples per image and model (paper / InterpretDL: 50).
        noise_amount: Noise std relative to the input's value range (InterpretDL: 0.1).
        aggregation: ``'abs_of_mean'`` (default) or ``'mean_of_abs'``.
        gradient_of: ``'probability'`` (default, InterpretDL's) or ``'logit'``.
    """

    #: Registry name of the engine (``build_engine(name)``).
    name: ClassVar[str] = ""

    def __init__(self, *, n_samples: int = 50, noise_amount: float = 0.1,
                 aggregation: str = "abs_of_mean", gradient_of: str = "probability"):
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

    @abc.abstractmethod
    def explain(self, model, inputs: np.ndarray, label: int, seed: int,
                noise: Optional[np.ndarray] = None) -> np.ndarray:
        """Score map of ``model`` for class ``label`` on one image.

        Args:
            model: A classifier ``paddle.nn.Layer`` returning (N, C) logits, in eval mode
                (from :func:`~paddleseg_pssl.consensus.ensemble.build_classifier`).
            inputs: (1, 3, H, W) float32 normalised image.
            label: The class to explain (the image's own class), 0 <= label < C.
            seed: Per-image seed in [0, 2**32) for the noise (ignored when ``noise`` is given).
            noise: Optional (n_samples, 3, H, W) float32 absolute noise added to ``inputs`` as
                is (e.g. :func:`numpy_smoothgrad_noise`), so engines can be compared exactly.

        Returns:
            (H, W) float32 map: aggregated gradient magnitude summed over colour channels,
            not normalised.
        """

    def config(self) -> Dict[str, Any]:
        """Every setting that affects the output (for the manifest)."""
        return {"engine": self.name, "name": "smoothgrad", "n_samples": self.n_samples,
                "noise_amount": self.noise_amount, "aggregation": self.aggregation,
                "gradient_of": self.gradient_of}

    def _check_noise(self, noise: Optional[np.ndarray], inputs: np.ndarray) -> Optional[np.ndarray]:
        if noise is None:
            return None
        noise = np.asarray(noise, dtype=np.float32)
        expected = (self.n_samples,) + tuple(inputs.shape[1:])
        if noise.shape != expected:
            raise ValueError(f"noise must have shape (n_samples, 3, H, W) = {expected}, "
                             f"got {noise.shape}")
        return np.ascontiguousarray(noise)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "engine")
        return f"{type(self).__name__}({args})"
