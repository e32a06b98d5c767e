"""Our fast SmoothGrad as an InterpretDL interpreter (PSSL, arXiv 2207.03335, Section 3.2).

:class:`FastSmoothGradInterpreter` subclasses InterpretDL's ``SmoothGradInterpreter`` (so it also
runs inside ``ConsensusInterpreter``; example in docs/generation.md). Its inner loop takes input
gradients only, stacks noisy copies into chunks of ``batch_size`` but sums them one by one in
sample order (so the result does not depend on the chunk size), and redoes a non-finite AMP
chunk in float32.
"""
from __future__ import annotations

import contextlib
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

import numpy as np
import paddle
from paddle.base import core

from paddleseg_pssl.consensus.explain import chunk_tuning
from paddleseg_pssl.consensus.explain.engine_base import (ENGINE_DEFAULTS, GRADIENT_TARGETS,
                                                          MAX_SEED, MOMENT_OF_AGGREGATION,
                                                          MOMENT_TERMS, MOMENTS, GradientMoments,
                                                          ThroughputSettings, check_checkpoints,
                                                          check_choice_setting, check_inputs,
                                                          check_label, check_moments,
                                                          check_noise, check_seed, device_kind,
                                                          import_interpretdl, moments_needed,
                                                          noise_sigma)

import_interpretdl()  # first, so that its import-time notice is dropped
from interpretdl.data_processor.readers import (  # noqa: E402
    images_transform_pipeline, preprocess_save_path)
from interpretdl.data_processor.visualizer import (  # noqa: E402
    explanation_to_vis, save_image, show_vis_explanation)
from interpretdl.interpreter.smooth_grad import SmoothGradInterpreter  # noqa: E402


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


def global_numpy_noise(data: np.ndarray, n_samples: int, noise_amount: float) -> np.ndarray:
    """The noise InterpretDL's ``SmoothGradInterpreter.interpret`` draws from the global
    ``np.random`` for a batch ``data`` (N, 3, H, W): (n_samples, N, 3, H, W), sample by sample,
    image by image within a sample, each with its image's own sigma."""
    axes = tuple(range(1, data.ndim))
    stds = noise_amount * (np.max(data, axis=axes) - np.min(data, axis=axes))
    return np.stack([np.concatenate([np.float32(np.random.normal(0.0, stds[j], (1,) + d.shape))
                                     for j, d in enumerate(data)])
                     for _ in range(n_samples)])


class FastSmoothGradInterpreter(ThroughputSettings, SmoothGradInterpreter):
    """InterpretDL's SmoothGrad interpreter with our inner loop and the aggregation options;
    ``seed`` seeds the device noise of :meth:`interpret`, ``chunk_cache`` keeps ``'auto'``
    chunk sizes (default: one per process)."""

    def __init__(self, model, device: str = "gpu:0", *,
                 aggregation: str = ENGINE_DEFAULTS.aggregation,
                 batch_size: Union[int, str] = ENGINE_DEFAULTS.batch_size,
                 amp: Union[bool, str] = ENGINE_DEFAULTS.amp,
                 amp_scale: float = ENGINE_DEFAULTS.amp_scale, noise_source: str = "numpy",
                 seed: int = 0, chunk_cache: Optional[chunk_tuning.ChunkSizeCache] = None,
                 **kwargs: Any):
        super().__init__(model, device, **kwargs)
        check_choice_setting("aggregation", aggregation, tuple(MOMENT_OF_AGGREGATION))
        self.set_throughput(batch_size, amp, amp_scale, noise_source)
        self.aggregation = aggregation
        self.seed = check_seed(seed)
        self.chunk_cache = chunk_cache if chunk_cache is not None else chunk_tuning.SHARED_CACHE

    def resolved_batch_size(self, base, noise_t, label: int, gradient_of: str,
                            use_amp: bool) -> int:
        """The chunk size for this input: the fixed one, or ``'auto'``'s measured choice for
        (model, resolution, device), measured now on ``base + noise_t`` when not yet known."""
        n_samples = int(noise_t.shape[0])
        if self.batch_size != "auto":
            return max(1, min(int(self.batch_size), n_samples))
        height, width = (int(d) for d in base.shape[2:])
        key = chunk_tuning.ChunkKey(id(self.model), chunk_tuning.resolution_bucket(height, width),
                                    paddle.get_device())
        choice = self.chunk_cache.get(key)
        if choice is None:
            sync = device_kind() == "gpu"

            def run_chunk(size: int) -> None:
                self._chunk_gradient(base + noise_t[:size], label, gradient_of, use_amp)
                if sync:
                    paddle.device.synchronize()

            sample_bytes = int(np.prod(base.shape)) * np.dtype(np.float32).itemsize
            choice = chunk_tuning.tune_chunk_size(
                run_chunk, chunk_tuning.candidate_sizes(n_samples, sample_bytes), (height, width))
            self.chunk_cache.put(key, choice, type(self.model).__name__)
        return min(choice.batch_size, n_samples)

    @staticmethod
    def _target(logits, label: int, gradient_of: str):
        logits = logits.astype("float32")
        if not label < logits.shape[-1]:
            raise ValueError(f"label {label} is outside the model's {logits.shape[-1]} classes")
        scores = (paddle.nn.functional.softmax(logits, axis=-1)
                  if gradient_of == "probability" else logits)
        return scores[:, label].sum()

    def _chunk_gradient(self, chunk, label: int, gradient_of: str, use_amp: bool):
        """d target / d input for every noise sample of the chunk, (B, 3, H, W) float32."""
        chunk.stop_gradient = False
        if use_amp:
            with paddle.amp.auto_cast(level="O1", dtype="float16"):
                logits = self.model(chunk)
            target = self._target(logits, label, gradient_of) * self.amp_scale
        else:
            logits = self.model(chunk)
            target = self._target(logits, label, gradient_of)
        (grad,) = paddle.grad([target], [chunk], create_graph=False, retain_graph=False)
        grad = grad.astype("float32")
        if use_amp:
            grad = grad / self.amp_scale
        return grad

    @staticmethod
    def _accumulate(totals: Dict[str, Any], grad, moments: Sequence[str]) -> None:
        """Add each asked moment of the chunk's samples to ``totals``, one sample after the
        other in sample order, so that the sums do not depend on how samples are chunked."""
        for key in moments:
            per_sample = MOMENT_TERMS[key](grad)
            for k in range(int(per_sample.shape[0])):
                totals[key] = per_sample[k] if key not in totals else totals[key] + per_sample[k]

    @staticmethod
    def _chunks(bs: int, checkpoints: Sequence[int]) -> List[tuple]:
        """(start, stop) sample ranges of at most ``bs`` samples, cut at every checkpoint."""
        bounds, start = [], 0
        for stop in checkpoints:
            while start < stop:
                end = min(start + bs, stop)
                bounds.append((start, end))
                start = end
        return bounds

    def gradient_moments(self, inputs: np.ndarray, label: int, *,
                         n_samples: int = ENGINE_DEFAULTS.n_samples,
                         noise_amount: float = ENGINE_DEFAULTS.noise_amount,
                         gradient_of: str = ENGINE_DEFAULTS.gradient_of, seed: int = 0,
                         noise: Optional[np.ndarray] = None, moments: Sequence[str] = MOMENTS,
                         checkpoints: Optional[Sequence[int]] = None) -> List[GradientMoments]:
        """Per-sample gradient sums of one image (see :meth:`.base.ExplainerEngine.
        gradient_moments`): ``inputs`` (1, 3, H, W) float32, ``noise`` (n_samples, 3, H, W)
        absolute noise or None (then drawn on the device from ``seed``)."""
        inputs = check_inputs(inputs)
        label = check_label(label)
        check_choice_setting("gradient_of", gradient_of, GRADIENT_TARGETS)
        check_moments(moments)
        counts = check_checkpoints(checkpoints, n_samples)
        use_amp = self.resolved_amp()
        results: List[GradientMoments] = []
        with frozen_parameters(self.model):
            base = paddle.to_tensor(inputs)
            noise = check_noise(noise, n_samples, inputs)
            if noise is None:
                sigma = noise_sigma(inputs, noise_amount)
                with seeded_generator(check_seed(seed)):
                    noise_t = paddle.randn([n_samples] + list(inputs.shape[1:]), dtype="float32")
                noise_t = noise_t * sigma
            else:
                noise_t = paddle.to_tensor(noise)
            totals: Dict[str, Any] = {}
            bs = self.resolved_batch_size(base, noise_t, label, gradient_of, use_amp)
            for start, stop in self._chunks(bs, counts):
                grad = self._chunk_gradient(base + noise_t[start:stop], label, gradient_of, use_amp)
                if use_amp and not bool(paddle.isfinite(grad).all()):
                    grad = self._chunk_gradient(base + noise_t[start:stop], label, gradient_of,
                                                use_amp=False)
                self._accumulate(totals, grad, moments)
                if stop in counts:
                    results.append(GradientMoments(
                        n=stop, **{k: v.numpy().astype(np.float32) for k, v in totals.items()}))
        return results

    def _predict(self, data: np.ndarray):
        """(predicted labels, probabilities) of a batch, as InterpretDL records them."""
        with paddle.no_grad():
            logits = self.model(paddle.to_tensor(data))
            probs = paddle.nn.functional.softmax(logits.astype("float32"), axis=-1).numpy()
        return np.argmax(probs, axis=1), probs

    def interpret(self, inputs, labels=None, noise_amount: float = 0.1, n_samples: int = 50,
                  gradient_of: str = "probability", resize_to: int = 224,
                  crop_to: Optional[int] = None, visual: bool = True,
                  save_path=None) -> np.ndarray:
        """InterpretDL's ``SmoothGradInterpreter.interpret`` (same defaults) with our inner loop:
        images in (InterpretDL's own pipeline), (N, 3, H, W) mean over the noise samples of the
        aggregated quantity out; no ``gradient_of='loss'``; device noise seeds image j with
        ``seed + j``."""
        imgs, data = images_transform_pipeline(inputs, resize_to, crop_to)
        data = np.ascontiguousarray(data, dtype=np.float32)
        self._env_setup()
        paddle.set_device(self.device)
        self.predicted_label, self.predicted_proba = self._predict(data)
        if labels is None:
            labels = self.predicted_label
        labels = np.asarray(labels).reshape((len(data),))
        noise = (global_numpy_noise(data, n_samples, noise_amount)
                 if self.noise_source == "numpy" else None)
        (moment,) = moments_needed([self.aggregation])
        out = np.zeros_like(data)
        for j in range(len(data)):
            one = data[j:j + 1]
            (sums,) = self.gradient_moments(
                one, int(labels[j]), n_samples=n_samples, noise_amount=noise_amount,
                gradient_of=gradient_of, seed=(self.seed + j) % MAX_SEED,
                noise=None if noise is None else noise[:, j], moments=(moment,))
            mean = sums.get(moment) / np.float32(n_samples)
            out[j] = mean * one[0] if self.aggregation == "grad_x_input" else mean
        self.labels = labels
        if visual or save_path is not None:
            paths = preprocess_save_path(save_path, len(data))
            for j in range(len(data)):
                score = (np.abs(out[j].sum(0)) if self.aggregation == "grad_x_input"
                         else np.abs(out[j]).sum(0))
                vis = explanation_to_vis(imgs[j], score, style="overlay_grayscale")
                if visual:
                    show_vis_explanation(vis)
                if paths[j] is not None:
                    save_image(paths[j], vis)
        return out
