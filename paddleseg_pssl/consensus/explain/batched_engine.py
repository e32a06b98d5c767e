"""The ``batched`` engine, the generator's default: :class:`~.interpreter.FastSmoothGradInterpreter`
behind the engine interface (arXiv 2207.03335, Sec. 3.2).

InterpretDL's SmoothGrad maths with noise drawn on the device, seeded per image, all samples at
once (so neither depends on the chunk size); ``noise_source='numpy'`` draws InterpretDL's own
noise instead, matching the ``interpretdl`` engine to float tolerance. ``batch_size='auto'``
measures the cheapest chunk per model, resolution and device (on CPUs often 1).
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import paddle

from paddleseg_pssl.consensus.explain.engine_base import (ENGINE_DEFAULTS, MOMENTS, NOISE_SOURCES,
                                                          EngineConfigError, ExplainerEngine,
                                                          GradientMoments, check_choice_setting,
                                                          check_inputs, check_seed,
                                                          check_throughput_settings,
                                                          import_interpretdl,
                                                          numpy_smoothgrad_noise, resolve_amp)
from paddleseg_pssl.consensus.explain.chunk_tuning import ChunkSizeCache

class BatchedSmoothGradEngine(ExplainerEngine):
    """SmoothGrad through :class:`~.interpreter.FastSmoothGradInterpreter`."""

    engine = "batched"

    def __init__(self, *, n_samples: int = ENGINE_DEFAULTS.n_samples,
                 noise_amount: float = ENGINE_DEFAULTS.noise_amount,
                 aggregation: str = ENGINE_DEFAULTS.aggregation,
                 gradient_of: str = ENGINE_DEFAULTS.gradient_of,
                 batch_size: Union[int, str] = ENGINE_DEFAULTS.batch_size,
                 amp: Union[bool, str] = ENGINE_DEFAULTS.amp,
                 amp_scale: float = ENGINE_DEFAULTS.amp_scale,
                 noise_source: str = ENGINE_DEFAULTS.noise_source):
        super().__init__(n_samples=n_samples, noise_amount=noise_amount,
                         aggregation=aggregation, gradient_of=gradient_of)
        check_throughput_settings(batch_size, amp, amp_scale)
        check_choice_setting("noise_source", noise_source, NOISE_SOURCES)
        self.noise_source = noise_source
        self.batch_size = batch_size
        self.amp = amp
        self.amp_scale = float(amp_scale)
        self._chunk_cache = ChunkSizeCache()

    def check_ready(self) -> None:
        try:
            import_interpretdl()
        except ImportError as exc:
            raise EngineConfigError(
                f"explainer.engine 'batched' runs through InterpretDL, which cannot be imported "
                f"({exc}); install it with pip install --no-deps -r requirements-nodeps.txt"
            ) from None

    def interpreter(self, model):
        """The InterpretDL interpreter that explains with this engine's settings. InterpretDL
        only knows 'cpu' and 'gpu' device names; our inner loop runs on Paddle's current
        device whatever it is, so other devices are named 'cpu' to InterpretDL."""
        from paddleseg_pssl.consensus.explain.interpreter import FastSmoothGradInterpreter

        device = paddle.get_device()
        return FastSmoothGradInterpreter(
            model, device=device if device[:3] in ("cpu", "gpu") else "cpu",
            aggregation=self.aggregation, batch_size=self.batch_size, amp=self.amp,
            amp_scale=self.amp_scale, noise_source="device", chunk_cache=self._chunk_cache)

    # -- settings resolved on the current device ----------------------------------------------
    def name_models(self, names: Dict[int, str]) -> None:
        """Name the models (id -> name) in the chunk-size log lines and records."""
        self._chunk_cache.name_models(names)

    def chunk_choices(self, names: Optional[Dict[int, str]] = None) -> List[Dict[str, Any]]:
        """The chunk sizes ``'auto'`` measured so far (models named by ``names``: id -> name)."""
        return self._chunk_cache.records(names)

    def resolved_amp(self) -> bool:
        return resolve_amp(self.amp)

    def config(self) -> Dict[str, Any]:
        cfg = super().config()
        cfg.update(batch_size=self.batch_size, amp=self.amp, amp_scale=self.amp_scale,
                   noise_source=self.noise_source)
        return cfg

    def gradient_moments(self, model, inputs: np.ndarray, label: int, seed: int,
                         noise: Optional[np.ndarray] = None, *,
                         moments: Sequence[str] = MOMENTS,
                         checkpoints: Optional[Sequence[int]] = None) -> List[GradientMoments]:
        inputs = check_inputs(inputs)
        noise = self._check_noise(noise, inputs)
        if noise is None and self.noise_source == "numpy":
            noise = numpy_smoothgrad_noise(inputs, self.n_samples, self.noise_amount,
                                           check_seed(seed))
        return self.interpreter(model).gradient_moments(
            inputs, label, n_samples=self.n_samples, noise_amount=self.noise_amount,
            gradient_of=self.gradient_of, seed=seed, noise=noise, moments=moments,
            checkpoints=checkpoints)
