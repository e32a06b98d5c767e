"""Explainer engines for PSSL generation (arXiv 2207.03335, Section 3.2).

Two engines behind one interface (:class:`ExplainerEngine.explain`):

- ``batched`` (default): our InterpretDL interpreter
  (:class:`~.interpreter.FastSmoothGradInterpreter`, a ``SmoothGradInterpreter`` subclass): noise
  samples stacked into batches, frozen parameters, input-only gradients, noise drawn on the
  device, AMP on GPU, every aggregation;
- ``interpretdl``: InterpretDL's ``SmoothGradInterpreter`` (or ``IntGradCVInterpreter``) as is,
  the reference.

The ``explainer:`` section of a generation config::

    explainer:
      engine: batched            # or interpretdl
      name: smoothgrad           # or integrated_gradients (interpretdl engine only)
      n_samples: 20              # defaults: engines/base.py (where each comes from)
      noise_amount: 0.1
      aggregation: abs_of_mean   # | mean_of_abs | squared | grad_x_input
      gradient_of: probability   # or logit
      batch_size: auto           # batched only: noise samples per forward (auto: measured per model)
      amp: auto                  # batched only: float16 on GPU

:func:`engine_from_config` builds an engine from that mapping; :func:`build_engine` from an
engine name and keyword settings.
"""
from __future__ import annotations

import difflib
import inspect
from typing import Any, Dict, Mapping, Optional, Type

import numpy as np

from paddleseg_pssl.consensus.explain.engine_base import (AGGREGATIONS, ENGINE_DEFAULTS, MOMENTS,
                                                          EngineConfigError, ExplainerEngine,
                                                          GradientMoments, moments_needed,
                                                          numpy_smoothgrad_noise, reduce_moments)
from paddleseg_pssl.consensus.explain.batched_engine import BatchedSmoothGradEngine
from paddleseg_pssl.consensus.explain.interpretdl_engine import METHODS, InterpretDLEngine

#: Engine name -> class.
ENGINES: Dict[str, Type[ExplainerEngine]] = {
    BatchedSmoothGradEngine.name: BatchedSmoothGradEngine,
    InterpretDLEngine.name: InterpretDLEngine,
}

DEFAULT_ENGINE: str = BatchedSmoothGradEngine.name

__all__ = ["AGGREGATIONS", "DEFAULT_ENGINE", "ENGINES", "METHODS", "MOMENTS",
           "BatchedSmoothGradEngine", "EngineConfigError", "ExplainerEngine", "GradientMoments",
           "InterpretDLEngine", "build_engine", "engine_from_config", "explain_image",
           "moments_needed", "numpy_smoothgrad_noise", "reduce_moments"]


def _accepted(cls: Type[ExplainerEngine]) -> list:
    return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]


def build_engine(name: str = DEFAULT_ENGINE, **cfg: Any) -> ExplainerEngine:
    """Build an engine by name.

    Args:
        name: ``'batched'`` or ``'interpretdl'``.
        **cfg: The engine's settings (``n_samples``, ``noise_amount``, ``aggregation``,
            ``gradient_of``; ``batch_size``, ``amp``, ``amp_scale`` for ``batched``;
            ``method``, ``steps``, ``baselines``, ``num_random_trials`` for ``interpretdl``).
            ``method='smoothgrad'`` is accepted by both.

    Raises:
        EngineConfigError: unknown engine or setting, naming it and the accepted ones.
    """
    if name not in ENGINES:
        close = difflib.get_close_matches(str(name), ENGINES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise EngineConfigError(f"explainer.engine {name!r} is unknown{hint}; choose one of "
                                f"{list(ENGINES)}")
    cls = ENGINES[name]
    cfg = dict(cfg)
    if cls is BatchedSmoothGradEngine:
        method = cfg.pop("method", ENGINE_DEFAULTS.method)
        if method != "smoothgrad":
            raise EngineConfigError(
                f"explainer.name {method!r} needs engine: interpretdl (the batched engine "
                f"implements smoothgrad only)")
    accepted = _accepted(cls)
    for key in cfg:
        if key not in accepted:
            close = difflib.get_close_matches(key, accepted, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise EngineConfigError(f"explainer.{key} is not a setting of engine {name!r}; "
                                    f"{hint}accepted: {accepted}")
    return cls(**cfg)


def engine_from_config(explainer_cfg: Mapping[str, Any] | None) -> ExplainerEngine:
    """Build the engine of a config's ``explainer:`` mapping (keys: ``engine``, ``name`` and the
    settings of :func:`build_engine`; an empty or missing section gives the defaults)."""
    cfg = dict(explainer_cfg or {})
    engine = cfg.pop("engine", DEFAULT_ENGINE)
    if "name" in cfg:
        cfg["method"] = cfg.pop("name")
    return build_engine(engine, **cfg)


def explain_image(engine: ExplainerEngine, model, spec, image: np.ndarray, label: int, seed: int,
                  noise: Optional[np.ndarray] = None) -> np.ndarray:
    """One model's score map of an image at the image's own resolution.

    Normalises ``image`` for ``spec`` (:func:`~paddleseg_pssl.consensus.explain.preprocess.to_model_input`,
    square-resized for ``resize: square`` models), explains ``label`` and resizes a square map
    back to the image's size.

    Args:
        engine: The explainer engine.
        model: ``build_classifier(spec)``.
        spec: The model's :class:`~paddleseg_pssl.consensus.explain.ensemble.ClassifierSpec`.
        image: (H, W, 3) uint8 RGB at the explanation resolution.
        label: The image's class.
        seed: Per-image seed.
        noise: Optional noise, see :meth:`ExplainerEngine.explain`.

    Returns:
        (H, W) float32 score map, not normalised.
    """
    from paddleseg_pssl.consensus.label_maths import resize_map
    from paddleseg_pssl.consensus.explain.preprocess import to_model_input

    score = engine.explain(model, to_model_input(image, spec), label, seed, noise)
    return resize_map(score, image.shape[:2])
