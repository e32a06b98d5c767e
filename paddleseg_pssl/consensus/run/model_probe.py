"""Start-up check of every classifier on one real image: a model whose weights hold NaN or inf
loads, builds and passes the output-size check, yet every explanation it gives is useless; a
model with non-finite scores or gradients stops the run with a ConfigError naming it."""
import contextlib
from typing import Optional

import numpy as np
import paddle

from paddleseg_pssl.consensus.run import image_loop, sharding
from paddleseg_pssl.consensus.explain import preprocess
from paddleseg_pssl.consensus.run.generate_config import ConfigError

#: How many images of the slice to try when the first ones do not decode.
PROBE_CANDIDATES: int = 5
#: What is not finite -> the likely cause and fix (finite scores clear the weights).
NON_FINITE_CAUSES = {
    "scores (logits)": "its weights {weights!r} hold NaN/inf or overflow -- use sound weights "
                       "or drop the model",
    "gradients (explanation map)": "its scores are finite, so its backward pass or the "
                                   "explainer settings overflow -- check the model's layers "
                                   "and explainer.*, or drop the model",
}


def _first_decodable(ctx):
    res = ctx.cfg.resolution
    mine = [it for it in sharding.shard(ctx.items, ctx.rank, ctx.world_size) if it.error is None]
    for item in mine[:PROBE_CANDIDATES]:
        with contextlib.suppress(image_loop.ImageFailure):
            return item, image_loop.decode(ctx.source.path(item), res.short_side, res.max_long_side)
    return None


def _scores_finite(model, inputs: np.ndarray) -> bool:
    with paddle.no_grad():
        logits = model(paddle.to_tensor(inputs))
    return bool(np.all(np.isfinite(np.asarray(logits.numpy(), dtype=np.float64))))


def probe_models(ctx) -> Optional[str]:
    """Explain one image with every model of ``ctx``; returns the image probed (None: no image
    decoded, left to fail-fast). Raises ConfigError ``ensemble[i]`` naming the failing model."""
    found = _first_decodable(ctx)
    if found is None:
        return None
    item, img = found
    for i, (spec, model) in enumerate(zip(ctx.specs, ctx.models)):
        inputs = preprocess.to_model_input(img, spec)
        what = None
        try:
            if not _scores_finite(model, inputs):
                what = "scores (logits)"
            else:
                seed = sharding.image_seed(ctx.cfg.seed, item.image_rel, salt=spec.name)
                score = np.asarray(ctx.engine.explain(model, inputs, item.class_id, seed))
                if not np.all(np.isfinite(score)):
                    what = "gradients (explanation map)"
        except Exception as exc:  # noqa: BLE001 - any failure on a sound image stops start-up
            raise ConfigError(f"ensemble[{i}]", f"model {spec.name!r} fails on "
                                                f"{item.image_rel!r}: {type(exc).__name__}: "
                                                f"{str(exc)[:300]}") from None
        if what is not None:
            raise ConfigError(
                f"ensemble[{i}]", f"model {spec.name!r} gives non-finite {what} on "
                f"{item.image_rel!r}; " + NON_FINITE_CAUSES[what].format(weights=spec.weights))
    return item.image_rel
