"""The ``interpretdl`` engine: InterpretDL's own interpreters as is, the reference
(arXiv 2207.03335; Consensus, arXiv 2109.00707, whose code is InterpretDL's).

``SmoothGradInterpreter`` (or ``IntGradCVInterpreter``, ``name: integrated_gradients``) runs on
the already-normalised input; nothing in site-packages is modified. For the call only: the
device is passed explicitly (InterpretDL sets it globally), the global ``np.random`` is seeded
per image and restored, given noise is replayed through a stand-in for the ``np`` its
``smooth_grad`` module sees, and its tqdm bar is silenced. Aggregations other than
``abs_of_mean``/``grad_x_input``, and sample checkpoints, call it once per sample and sum here.
Models from ``build_classifier`` are frozen, so its ``loss.backward()`` accumulates nothing.
"""
from __future__ import annotations

import contextlib
import types
from typing import Any, Dict, Iterator, List, Optional, Sequence

import numpy as np
import paddle
from tqdm import tqdm

from paddleseg_pssl.consensus.explain.engine_base import (ENGINE_DEFAULTS, MOMENTS,
                                                          EngineConfigError, ExplainerEngine,
                                                          GradientMoments, check_checkpoints,
                                                          check_choice_setting, check_inputs,
                                                          check_label, check_positive_int_setting,
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
def _patched(module, **attrs) -> Iterator[None]:
    saved = {k: getattr(module, k) for k in attrs}
    for k, v in attrs.items():
        setattr(module, k, v)
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(module, k, v)


@contextlib.contextmanager
def _numpy_seed(seed: int) -> Iterator[None]:
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _quiet_tqdm(*args, **kwargs):
    kwargs["disable"] = True
    return tqdm(*args, **kwargs)


class InterpretDLEngine(ExplainerEngine):
    """Runs an InterpretDL interpreter per call; the reference for the ``batched`` engine."""

    engine = "interpretdl"

    def __init__(self, *, name: str = ENGINE_DEFAULTS.name,
                 n_samples: int = ENGINE_DEFAULTS.n_samples,
                 noise_amount: float = ENGINE_DEFAULTS.noise_amount,
                 aggregation: str = ENGINE_DEFAULTS.aggregation,
                 gradient_of: str = ENGINE_DEFAULTS.gradient_of,
                 steps: int = ENGINE_DEFAULTS.steps,
                 baselines: Optional[str] = ENGINE_DEFAULTS.baselines,
                 num_random_trials: int = ENGINE_DEFAULTS.num_random_trials,
                 show_progress: bool = False):
        super().__init__(n_samples=n_samples, noise_amount=noise_amount,
                         aggregation=aggregation, gradient_of=gradient_of)
        check_choice_setting("name", name, METHODS)
        if name == "integrated_gradients" and aggregation != "abs_of_mean":
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
        interpretdl = import_interpretdl()
        device = paddle.get_device()
        if device[:3] not in ("cpu", "gpu"):
            raise RuntimeError(f"InterpretDL runs on cpu or gpu only, the current device is "
                               f"{device!r}; use engine: batched")
        return getattr(interpretdl, METHODS[self.name])(model, device=device)

    def explain(self, model, inputs: np.ndarray, label: int, seed: int,
                noise: Optional[np.ndarray] = None) -> np.ndarray:
        if self.name == "smoothgrad":
            return super().explain(model, inputs, label, seed, noise)
        import_interpretdl()
        import interpretdl.interpreter.integrated_gradients as ig_module

        inputs = check_inputs(inputs)
        if noise is not None:
            raise ValueError("noise can only be given to SmoothGrad")
        interpreter = self._interpreter(model)
        patches: Dict[str, Any] = {} if self.show_progress else {"tqdm": _quiet_tqdm}
        with _patched(ig_module, **patches), _numpy_seed(check_seed(seed)):
            grads = interpreter.interpret(
                inputs, labels=[check_label(label)], baselines=self.baselines,
                steps=self.steps, num_random_trials=self.num_random_trials,
                gradient_of=self.gradient_of, visual=False, save_path=None)
        return np.abs(np.asarray(grads, dtype=np.float32)[0]).sum(axis=0)

    def gradient_moments(self, model, inputs: np.ndarray, label: int, seed: int,
                         noise: Optional[np.ndarray] = None, *,
                         moments: Sequence[str] = MOMENTS,
                         checkpoints: Optional[Sequence[int]] = None) -> List[GradientMoments]:
        import_interpretdl()
        import interpretdl.interpreter.smooth_grad as sg_module

        if self.name != "smoothgrad":
            raise ValueError(f"gradient moments are SmoothGrad's; explainer.name is "
                             f"{self.name!r}")
        inputs = check_inputs(inputs)
        label = check_label(label)
        seed = check_seed(seed)
        noise = self._check_noise(noise, inputs)
        for moment in moments:
            check_choice_setting("moment", moment, MOMENTS)
        counts = check_checkpoints(checkpoints, self.n_samples)
        interpreter = self._interpreter(model)
        patches: Dict[str, Any] = {} if self.show_progress else {"tqdm": _quiet_tqdm}
        if noise is not None:
            patches["np"] = _NumpyProxy(random=_ReplayRandom(noise))

        def interpret(n_samples: int) -> np.ndarray:
            grads = interpreter.interpret(
                inputs, labels=[label], noise_amount=self.noise_amount, n_samples=n_samples,
                gradient_of=self.gradient_of, visual=False, save_path=None)
            return np.asarray(grads, dtype=np.float32)[0]

        with _patched(sg_module, **patches), _numpy_seed(seed):
            if tuple(moments) == ("sum",) and counts == [self.n_samples]:
                # InterpretDL's own call: the mean of the signed gradients.
                return [GradientMoments(n=self.n_samples,
                                        sum=interpret(self.n_samples) * self.n_samples)]
            totals = {m: np.zeros(inputs.shape[1:], dtype=np.float32) for m in moments}
            results = []
            for done in range(1, self.n_samples + 1):
                grad = interpret(1)
                if "sum" in totals:
                    totals["sum"] += grad
                if "sum_abs" in totals:
                    totals["sum_abs"] += np.abs(grad)
                if "sum_sq" in totals:
                    totals["sum_sq"] += grad * grad
                if done in counts:
                    results.append(GradientMoments(n=done, **{k: v.copy()
                                                              for k, v in totals.items()}))
            return results
