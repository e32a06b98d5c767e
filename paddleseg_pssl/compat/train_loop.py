"""Fix for ``paddleseg.core.train``: 0-D losses break its loss logging.

``core.train.train`` (2.8.0) logs ``l[0]`` of every summed loss, which fails once Paddle's
full reductions return 0-D tensors (PaddleSeg #3373, #3520, #3616).
"""
import inspect
from typing import Callable, List, Optional

import paddle

from paddleseg_pssl.compat.patching import Fix, original, probe_labels, probe_logits

#: The replaced function, and the train loop whose logging decides whether it is needed.
LOSS_COMPUTATION = "paddleseg.core.train:loss_computation"
TRAIN = "paddleseg.core.train:train"


class _MeanLoss(paddle.nn.Layer):
    """Probe loss returning what every stock loss returns: a full mean (0-D on Paddle 3)."""

    def forward(self, logits: paddle.Tensor, labels: paddle.Tensor) -> paddle.Tensor:
        return paddle.mean(logits)


def probe_loss_logging(loss_computation: Callable, train_fn: Callable) -> bool:
    """True when ``train_fn`` would index ``l[0]`` of 0-D losses from ``loss_computation``.

    ``core.train.train`` (2.8.0) sums each loss as a numpy array and logs
    ``[l[0] / log_iters for l in avg_loss_list]``, which raises ``IndexError: too many
    indices for array: array is 0-dimensional`` (PaddleSeg #3373, #3520, #3616). Broken
    when the losses are 0-D *and* the train loop still indexes them (its source holds
    ``l[0]``; an unreadable source counts as still indexing).
    """
    losses = {"types": [_MeanLoss()], "coef": [1.0]}
    values = loss_computation(probe_logits(), probe_labels(), None, losses)
    if not any(value.ndim == 0 for value in values):
        return False
    try:
        return "l[0]" in inspect.getsource(train_fn)
    except (OSError, TypeError):
        return True


def loss_computation_1d(logits_list: List[paddle.Tensor], labels: paddle.Tensor,
                         edges: Optional[paddle.Tensor], losses: dict) -> List[paddle.Tensor]:
    """Stock ``core.train.loss_computation`` with every 0-D loss reshaped to shape [1].

    Shape [1] keeps ``core.train.train``'s ``l[0]`` logging working (PaddleSeg #3373) as
    well as ``sum(loss_list)``, ``float(loss)``, ``loss.backward()`` and the AMP scaler.
    Models with their own ``loss_computation`` method (only MaskFormer in 2.8.0) bypass it.
    Returns one shape-[1] float tensor per (mixed) loss term.
    """
    stock = original(LOSS_COMPUTATION)
    values = stock(logits_list, labels, edges, losses)
    return [value.reshape([1]) if value.ndim == 0 else value for value in values]


FIX = Fix(name="core.train.loss_computation:0d-losses",
          upstream="PaddleSeg #3373, #3520, #3616",
          is_needed=lambda: probe_loss_logging(original(LOSS_COMPUTATION), original(TRAIN)),
          patches={LOSS_COMPUTATION: loss_computation_1d})
