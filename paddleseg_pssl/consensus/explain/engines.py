"""Explainer engines of PSSL generation (arXiv 2207.03335, Section 3.2) by name: ``batched`` (the
default, our interpreter) and ``interpretdl`` (InterpretDL's own interpreters, the reference)."""
from __future__ import annotations

import dataclasses
import difflib
import inspect
from typing import Any, Dict, List, Mapping, Type, Union

from paddleseg_pssl.consensus.explain.batched_engine import BatchedSmoothGradEngine
from paddleseg_pssl.consensus.explain.engine_base import (AGGREGATIONS, ENGINE_DEFAULTS, MOMENTS,
                                                          EngineConfigError, ExplainerConfig,
                                                          ExplainerEngine, GradientMoments,
                                                          moments_needed, numpy_smoothgrad_noise,
                                                          reduce_moments)
from paddleseg_pssl.consensus.explain.interpretdl_engine import METHODS, InterpretDLEngine

ENGINES: Dict[str, Type[ExplainerEngine]] = {
    BatchedSmoothGradEngine.engine: BatchedSmoothGradEngine,
    InterpretDLEngine.engine: InterpretDLEngine,
}

__all__ = ["AGGREGATIONS", "ENGINES", "METHODS", "MOMENTS", "BatchedSmoothGradEngine",
           "EngineConfigError", "ExplainerConfig", "ExplainerEngine", "GradientMoments",
           "InterpretDLEngine", "build_engine", "engine_from_config", "moments_needed",
           "numpy_smoothgrad_noise", "reduce_moments"]


def _accepted(cls: Type[ExplainerEngine]) -> List[str]:
    """The settings ``cls`` takes: the shared ones of :class:`ExplainerEngine`, then its own."""
    return [name for c in (ExplainerEngine, cls)
            for name, p in inspect.signature(c.__init__).parameters.items()
            if p.kind == p.KEYWORD_ONLY]


def build_engine(engine: str = ENGINE_DEFAULTS.engine, **settings: Any) -> ExplainerEngine:
    """The engine named ``engine`` with ``settings`` (keys of :class:`ExplainerConfig`); an
    unknown engine or setting raises EngineConfigError naming it and the accepted ones."""
    if engine not in ENGINES:
        close = difflib.get_close_matches(str(engine), ENGINES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise EngineConfigError(f"explainer.engine {engine!r} is unknown{hint}; choose one of "
                                f"{list(ENGINES)}")
    cls = ENGINES[engine]
    if cls is BatchedSmoothGradEngine:
        name = settings.pop("name", ENGINE_DEFAULTS.name)
        if name != "smoothgrad":
            raise EngineConfigError(
                f"explainer.name {name!r} needs engine: interpretdl (the batched engine "
                f"implements smoothgrad only)")
    accepted = _accepted(cls)
    for key in settings:
        if key not in accepted:
            close = difflib.get_close_matches(key, accepted, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise EngineConfigError(f"explainer.{key} is not a setting of engine {engine!r}; "
                                    f"{hint}accepted: {accepted}")
    return cls(**settings)


def engine_from_config(
        explainer: Union[ExplainerConfig, Mapping[str, Any], None]) -> ExplainerEngine:
    """The engine of an ``explainer:`` section (None or a partial mapping: the defaults fill
    in). The other engine's settings must keep their defaults."""
    if isinstance(explainer, ExplainerConfig):
        settings = {k: v for k, v in dataclasses.asdict(explainer).items()
                    if k in _accepted(ENGINES.get(explainer.engine, ExplainerEngine))
                    or k == "name" or v != getattr(ENGINE_DEFAULTS, k)}
    else:
        settings = dict(explainer or {})
    return build_engine(settings.pop("engine", ENGINE_DEFAULTS.engine), **settings)
