"""The ``batched`` engine, the generator's default (arXiv 2207.03335, Sec. 3.2):
:class:`~.interpreter.FastSmoothGradInterpreter` behind the engine interface. Noise is drawn on
the device, seeded per image (``noise_source='numpy'``: InterpretDL's own draws, matching the
``interpretdl`` engine to float tolerance); ``batch_size='auto'`` measures the cheapest chunk."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Union

import paddle

from paddleseg_pssl.consensus.explain.chunk_tuning import ChunkSizeCache
from paddleseg_pssl.consensus.explain.engine_base import (ENGINE_DEFAULTS, EngineConfigError,
                                                          ExplainerEngine, ThroughputSettings,
                                                          check_seed, import_interpretdl,
                                                          numpy_smoothgrad_noise)


class BatchedSmoothGradEngine(ThroughputSettings, ExplainerEngine):
    """SmoothGrad through :class:`~.interpreter.FastSmoothGradInterpreter`."""

    engine = "batched"

    def __init__(self, *, batch_size: Union[int, str] = ENGINE_DEFAULTS.batch_size,
                 amp: Union[bool, str] = ENGINE_DEFAULTS.amp,
                 amp_scale: float = ENGINE_DEFAULTS.amp_scale,
                 noise_source: str = ENGINE_DEFAULTS.noise_source, **common: Any):
        super().__init__(**common)
        self.set_throughput(batch_size, amp, amp_scale, noise_source)
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
        """The interpreter with this engine's settings. InterpretDL only knows 'cpu' and 'gpu';
        our inner loop runs on Paddle's current device, so other devices are named 'cpu'."""
        from paddleseg_pssl.consensus.explain import interpreter as fast  # optional: interpretdl

        device = paddle.get_device()
        return fast.FastSmoothGradInterpreter(
            model, device=device if device[:3] in ("cpu", "gpu") else "cpu",
            aggregation=self.aggregation, batch_size=self.batch_size, amp=self.amp,
            amp_scale=self.amp_scale, noise_source="device", chunk_cache=self._chunk_cache)

    def name_models(self, names: Dict[int, str]) -> None:
        """Name the models (id -> name) in the chunk-size log lines and records."""
        self._chunk_cache.name_models(names)

    def chunk_choices(self, names: Optional[Dict[int, str]] = None) -> List[Dict[str, Any]]:
        """The chunk sizes ``'auto'`` measured so far (models named by ``names``: id -> name)."""
        return self._chunk_cache.records(names)

    def config(self) -> Dict[str, Any]:
        cfg = super().config()
        cfg.update(batch_size=self.batch_size, amp=self.amp, amp_scale=self.amp_scale,
                   noise_source=self.noise_source)
        return cfg

    def _gradient_moments(self, model, inputs, label, seed, noise, moments, counts):
        if noise is None and self.noise_source == "numpy":
            noise = numpy_smoothgrad_noise(inputs, self.n_samples, self.noise_amount,
                                           check_seed(seed))
        return self.interpreter(model).gradient_moments(
            inputs, label, n_samples=self.n_samples, noise_amount=self.noise_amount,
            gradient_of=self.gradient_of, seed=seed, noise=noise, moments=moments,
            checkpoints=counts)
