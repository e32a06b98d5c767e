"""The ``batched`` engine: InterpretDL's SmoothGrad maths, made cheap (arXiv 2207.03335, Sec. 3.2).

Same maths as ``SmoothGradInterpreter`` (see :mod:`.base`), computed differently:

- the noisy copies of the image are stacked into batches of ``batch_size`` samples (chunks bound
  the memory; the result does not depend on the chunk size beyond float rounding);
- the classifier's parameters are frozen for the call, and only the input gradient is asked for
  (``paddle.grad`` w.r.t. the input), so no parameter gradient is computed or accumulated;
- the noise is drawn on the device with Paddle's generator, seeded per image (``seed``), all
  ``n_samples`` at once, so it does not depend on the chunk size either; the generator's state is
  restored afterwards. Device noise is reproducible per device kind (CPU and GPU generators
  differ); ``noise_source='numpy'`` draws InterpretDL's own numpy noise on the host instead
  (:func:`.base.numpy_smoothgrad_noise`), so that for a given seed the map matches the
  ``interpretdl`` engine's to float tolerance on any device;
- on GPU, the forward/backward runs under AMP (float16) with a static loss scale; a chunk whose
  gradient is not finite is recomputed in float32.

Chunk size: on GPUs large batches pay; on a CPU they do not: on the five real ImageNet
MobileNets of the real-data benchmark (two 1-thread processes, 224 short side), forward +
input-backward per noise sample is cheapest at batch 1 and about 1.3x dearer at batch 2, so
``batch_size='auto'`` means 1 on CPU and 16 on GPU (a guess per device kind, not a measurement
of the model at hand). On CPU, two 1-thread processes gave about twice the throughput of one
2-thread process.
"""
from __future__ import annotations

import contextlib
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

import numpy as np

from paddleseg_pssl.consensus.engines.base import (DEFAULT_AGGREGATION, DEFAULT_GRADIENT_OF,
                                                    DEFAULT_N_SAMPLES, DEFAULT_NOISE_AMOUNT,
                                                    MOMENTS, EngineConfigError,
                                                    ExplainerEngine, GradientMoments,
                                                    check_checkpoints, check_choice_setting,
                                                    check_inputs, check_label, check_seed,
                                                    is_positive_int, noise_sigma,
                                                    numpy_smoothgrad_noise)

#: ``batch_size: auto`` per device kind.
AUTO_BATCH_SIZE: Dict[str, int] = {"cpu": 1, "gpu": 16}

#: Where the noise is drawn (see the module docstring).
NOISE_SOURCES = ("device", "numpy")

#: Static loss scale under AMP: probability gradients are tiny and would underflow float16.
DEFAULT_AMP_SCALE: float = 2.0 ** 12


def _device_kind() -> str:
    import paddle

    return "gpu" if paddle.get_device().startswith("gpu") else "cpu"


@contextlib.contextmanager
def frozen_parameters(model) -> Iterator[None]:
    """Set ``stop_gradient=True`` on every parameter for the duration, then restore the flags."""
    params = [p for p in model.parameters() if not p.stop_gradient]
    for p in params:
        p.stop_gradient = True
    try:
        yield
    finally:
        for p in params:
            p.stop_gradient = False


@contextlib.contextmanager
def seeded_generator(seed: int) -> Iterator[None]:
    """Seed the current device's default Paddle generator, restoring its state afterwards."""
    import paddle
    from paddle.base import core

    device = paddle.get_device()
    if device.startswith("gpu"):
        dev_id = int(device.split(":")[1]) if ":" in device else 0
        gen = core.default_cuda_generator(dev_id)
    else:
        gen = core.default_cpu_generator()
    state = gen.get_state()
    gen.manual_seed(seed)
    try:
        yield
    finally:
        gen.set_state(state)


class BatchedSmoothGradEngine(ExplainerEngine):
    """SmoothGrad with stacked noise samples, frozen parameters and input-only gradients.

    Args:
        n_samples, noise_amount, aggregation, gradient_of: see :class:`.base.ExplainerEngine`.
        batch_size: Noise samples per forward/backward, or ``'auto'`` (1 on CPU, 16 on GPU).
        amp: ``'auto'`` (on for GPU, off for CPU), True or False.
        amp_scale: Static scale of the target under AMP (divided out in float32).
        noise_source: ``'device'`` (default: Paddle's generator on the device) or ``'numpy'``
            (InterpretDL's host-side draws, identical to the ``interpretdl`` engine's).
    """

    name = "batched"

    def __init__(self, *, n_samples: int = DEFAULT_N_SAMPLES,
                 noise_amount: float = DEFAULT_NOISE_AMOUNT,
                 aggregation: str = DEFAULT_AGGREGATION, gradient_of: str = DEFAULT_GRADIENT_OF,
                 batch_size: Union[int, str] = "auto", amp: Union[bool, str] = "auto",
                 amp_scale: float = DEFAULT_AMP_SCALE, noise_source: str = "device"):
        super().__init__(n_samples=n_samples, noise_amount=noise_amount,
                         aggregation=aggregation, gradient_of=gradient_of)
        if batch_size != "auto" and not is_positive_int(batch_size):
            raise EngineConfigError(f"explainer.batch_size must be a positive integer or 'auto', "
                                    f"got {batch_size!r}")
        if amp not in ("auto", True, False):
            raise EngineConfigError(f"explainer.amp must be 'auto', true or false, got {amp!r}")
        if not isinstance(amp_scale, (int, float)) or amp_scale <= 0:
            raise EngineConfigError(f"explainer.amp_scale must be a positive number, "
                                    f"got {amp_scale!r}")
        check_choice_setting("noise_source", noise_source, NOISE_SOURCES)
        self.noise_source = noise_source
        self.batch_size = batch_size
        self.amp = amp
        self.amp_scale = float(amp_scale)

    # -- settings resolved on the current device ----------------------------------------------
    def resolved_batch_size(self) -> int:
        bs = AUTO_BATCH_SIZE[_device_kind()] if self.batch_size == "auto" else self.batch_size
        return max(1, min(int(bs), self.n_samples))

    def resolved_amp(self) -> bool:
        if self.amp == "auto":
            return _device_kind() == "gpu"
        if self.amp and _device_kind() != "gpu":
            return False  # Paddle's CPU AMP (bfloat16) is slower than float32 on most CPUs
        return bool(self.amp)

    def config(self) -> Dict[str, Any]:
        cfg = super().config()
        cfg.update(batch_size=self.batch_size, amp=self.amp, amp_scale=self.amp_scale,
                   noise_source=self.noise_source)
        return cfg

    # -- the maths --------------------------------------------------------------------------
    def _target(self, logits, label: int):
        import paddle

        logits = logits.astype("float32")
        if not label < logits.shape[-1]:
            raise ValueError(f"label {label} is outside the model's {logits.shape[-1]} classes")
        if self.gradient_of == "probability":
            scores = paddle.nn.functional.softmax(logits, axis=-1)
        else:
            scores = logits
        return scores[:, label].sum()

    def _chunk_gradient(self, model, chunk, label: int, use_amp: bool):
        """d target / d input for every noise sample of the chunk, (B, 3, H, W) float32."""
        import paddle

        chunk.stop_gradient = False
        if use_amp:
            with paddle.amp.auto_cast(level="O1", dtype="float16"):
                logits = model(chunk)
            target = self._target(logits, label) * self.amp_scale
        else:
            logits = model(chunk)
            target = self._target(logits, label)
        (grad,) = paddle.grad([target], [chunk], create_graph=False, retain_graph=False)
        grad = grad.astype("float32")
        if use_amp:
            grad = grad / self.amp_scale
        return grad

    @staticmethod
    def _chunk_moments(grad, moments: Sequence[str]) -> Dict[str, Any]:
        """The chunk's sums over its samples of each asked moment (tensors of (3, H, W))."""
        out = {}
        if "sum" in moments:
            out["sum"] = grad.sum(axis=0)
        if "sum_abs" in moments:
            out["sum_abs"] = grad.abs().sum(axis=0)
        if "sum_sq" in moments:
            out["sum_sq"] = (grad * grad).sum(axis=0)
        return out

    def _chunks(self, n: int, checkpoints: Sequence[int]) -> List[tuple]:
        """(start, stop) sample ranges of at most the chunk size, cut at every checkpoint."""
        bs = self.resolved_batch_size()
        bounds, start = [], 0
        for stop in checkpoints:
            while start < stop:
                end = min(start + bs, stop)
                bounds.append((start, end))
                start = end
        assert start == n
        return bounds

    def gradient_moments(self, model, inputs: np.ndarray, label: int, seed: int,
                         noise: Optional[np.ndarray] = None, *,
                         moments: Sequence[str] = MOMENTS,
                         checkpoints: Optional[Sequence[int]] = None) -> List[GradientMoments]:
        import paddle

        inputs = check_inputs(inputs)
        noise = self._check_noise(noise, inputs)
        label = check_label(label)
        for moment in moments:
            check_choice_setting("moment", moment, MOMENTS)
        if noise is None and self.noise_source == "numpy":
            noise = numpy_smoothgrad_noise(inputs, self.n_samples, self.noise_amount,
                                           check_seed(seed))
        n = self.n_samples
        counts = check_checkpoints(checkpoints, n)
        use_amp = self.resolved_amp()
        results: List[GradientMoments] = []
        with frozen_parameters(model):
            base = paddle.to_tensor(inputs)
            if noise is None:
                sigma = noise_sigma(inputs, self.noise_amount)
                with seeded_generator(check_seed(seed)):
                    noise_t = paddle.randn([n] + list(inputs.shape[1:]), dtype="float32")
                noise_t = noise_t * sigma
            else:
                noise_t = paddle.to_tensor(noise)
            totals: Dict[str, Any] = {}
            for start, stop in self._chunks(n, counts):
                grad = self._chunk_gradient(model, base + noise_t[start:stop], label, use_amp)
                if use_amp and not bool(paddle.isfinite(grad).all()):
                    grad = self._chunk_gradient(model, base + noise_t[start:stop], label,
                                                use_amp=False)
                for key, part in self._chunk_moments(grad, moments).items():
                    totals[key] = part if key not in totals else totals[key] + part
                if stop in counts:
                    results.append(GradientMoments(
                        n=stop, **{k: v.numpy().astype(np.float32) for k, v in totals.items()}))
        return results
