"""The ``interpretdl`` engine: InterpretDL's own interpreters as is, the reference
(arXiv 2207.03335; Consensus, arXiv 2109.00707, whose code is InterpretDL's).

Nothing in site-packages is modified. For the call only: the device is passed explicitly, the
global ``np.random`` is seeded per image and restored, given noise is replayed through a
stand-in for the ``np`` its ``smooth_grad`` module sees, and its tqdm bar is silenced.
Aggregations other than ``abs_of_mean``/``grad_x_input``, and sample checkpoints, call it once
per sample and sum here.
"""
from __future__ import annotations

import contextlib
import functools
import sys
import types
from typing import Any, Dict, Iterator, Optional

import numpy as np
import paddle
from tqdm import tqdm

from paddleseg_pssl.consensus.explain.engine_base import (ENGINE_DEFAULTS, MOMENT_TERMS,
                                                          EngineConfigError, ExplainerEngine,
                                                          GradientMoments, check_choice_setting,
                                                          check_inputs, check_label,
                                                          check_positive_int_setting,
                                                          check_seed, import_interpretdl)

#: Explainer names accepted in ``explainer.name`` and the InterpretDL class each one runs.
METHODS: Dict[str, str] = {
    "smoothgrad": "SmoothGradInterpreter",
    "integrated_gradients": "IntGradCVInterpreter",
}


class _ReplayRandom:
    """Stands in for ``numpy.random`` inside InterpretDL: ``normal`` returns the given samples."""

    def __init__(self, samples: np.ndarray):
        self._samples = samples
        self._next = 0

    def normal(self, loc=0.0, scale=1.0, size=None):  # noqa: ARG002 - samples are pre-scaled
        if self._next >= len(self._samples):
            raise RuntimeError("InterpretDL asked for more noise samples than were given")
        sample = self._samples[self._next:self._next + 1]
        self._next += 1
        if size is not None and tuple(size) != sample.shape:
            raise RuntimeError(f"InterpretDL asked for noise of shape {tuple(size)}, "
                               f"the given samples have shape {sample.shape}")
        return sample

    def __getattr__(self, item):
        return getattr(np.random, item)


class _NumpyProxy(types.SimpleNamespace):
    def __getattr__(self, item):
        return getattr(np, item)


@contextlib.contextmanager
def _patched(module, seed: int, **attrs) -> Iterator[None]:
    """``module``'s ``attrs`` replaced and the global ``np.random`` seeded, both restored after."""
    saved = {k: getattr(module, k) for k in attrs}
    state = np.random.get_state()
    for k, v in attrs.items():
        setattr(module, k, v)
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)
        for k, v in saved.items():
            setattr(module, k, v)


class InterpretDLEngine(ExplainerEngine):
    """Runs an InterpretDL interpreter per call; the reference for the ``batched`` engine."""

    engine = "interpretdl"

    def __init__(self, *, name: str = ENGINE_DEFAULTS.name, steps: int = ENGINE_DEFAULTS.steps,
                 baselines: Optional[str] = ENGINE_DEFAULTS.baselines,
                 num_random_trials: int = ENGINE_DEFAULTS.num_random_trials,
                 show_progress: bool = False, **common: Any):
        super().__init__(**common)
        check_choice_setting("name", name, METHODS)
        if name == "integrated_gradients" and self.aggregation != "abs_of_mean":
            raise EngineConfigError(
                "explainer.aggregation: integrated_gradients averages its gradients itself; "
                "use aggregation: abs_of_mean")
        if baselines not in (None, "random"):
            raise EngineConfigError(f"explainer.baselines must be null or 'random', "
                                    f"got {baselines!r}")
        check_positive_int_setting("steps", steps)
        check_positive_int_setting("num_random_trials", num_random_trials)
        self.name = name
        self.steps = steps
        self.baselines = baselines
        self.num_random_trials = num_random_trials
        self.show_progress = bool(show_progress)

    def config(self) -> Dict[str, Any]:
        cfg = super().config()
        cfg["name"] = self.name
        if self.name == "integrated_gradients":
            for key in ("n_samples", "noise_amount", "aggregation"):
                cfg.pop(key)
            cfg.update(steps=self.steps, baselines=self.baselines,
                       num_random_trials=self.num_random_trials)
        return cfg

    def _interpreter(self, model):
        """The InterpretDL interpreter for ``model``, and the module whose globals it reads."""
        interpretdl = import_interpretdl()
        device = paddle.get_device()
        if device[:3] not in ("cpu", "gpu"):
            raise RuntimeError(f"InterpretDL runs on cpu or gpu only, the current device is "
                               f"{device!r}; use engine: batched")
        cls = getattr(interpretdl, METHODS[self.name])
        return cls(model, device=device), sys.modules[cls.__module__]

    def _patches(self) -> Dict[str, Any]:
        return {} if self.show_progress else {"tqdm": functools.partial(tqdm, disable=True)}

    def explain(self, model, inputs: np.ndarray, label: int, seed: int,
                noise: Optional[np.ndarray] = None) -> np.ndarray:
        if self.name == "smoothgrad":
            return super().explain(model, inputs, label, seed, noise)
        inputs = check_inputs(inputs)
        if noise is not None:
            raise ValueError("noise can only be given to SmoothGrad")
        interpreter, module = self._interpreter(model)
        with _patched(module, check_seed(seed), **self._patches()):
            grads = interpreter.interpret(
                inputs, labels=[check_label(label)], baselines=self.baselines,
                steps=self.steps, num_random_trials=self.num_random_trials,
                gradient_of=self.gradient_of, visual=False, save_path=None)
        return np.abs(np.asarray(grads, dtype=np.float32)[0]).sum(axis=0)

    def _gradient_moments(self, model, inputs, label, seed, noise, moments, counts):
        if self.name != "smoothgrad":
            raise ValueError(f"gradient moments are SmoothGrad's; explainer.name is "
                             f"{self.name!r}")
        seed = check_seed(seed)
        interpreter, module = self._interpreter(model)
        patches = self._patches()
        if noise is not None:
            patches["np"] = _NumpyProxy(random=_ReplayRandom(noise))

        def interpret(n_samples: int) -> np.ndarray:
            grads = interpreter.interpret(
                inputs, labels=[label], noise_amount=self.noise_amount, n_samples=n_samples,
                gradient_of=self.gradient_of, visual=False, save_path=None)
            return np.asarray(grads, dtype=np.float32)[0]

        with _patched(module, seed, **patches):
            if tuple(moments) == ("sum",) and counts == [self.n_samples]:
                # InterpretDL's own call: the mean of the signed gradients.
                return [GradientMoments(n=self.n_samples,
                                        sum=interpret(self.n_samples) * self.n_samples)]
            totals = {m: np.zeros(inputs.shape[1:], dtype=np.float32) for m in moments}
            results = []
            for done in range(1, self.n_samples + 1):
                grad = interpret(1)
                for m in totals:
                    totals[m] += MOMENT_TERMS[m](grad)
                if done in counts:
                    results.append(GradientMoments(n=done, **{k: v.copy()
                                                              for k, v in totals.items()}))
            return results
