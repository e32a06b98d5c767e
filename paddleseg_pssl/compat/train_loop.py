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
    """True when ``loss_computation`` returns 0-D losses *and* ``train_fn``'s source still logs
    ``l[0]`` of them (an unreadable source counts as indexing)."""
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
    """Stock ``core.train.loss_computation`` with every 0-D loss reshaped to shape [1], which
    ``l[0]``, ``sum``, ``backward`` and the AMP scaler all take. MaskFormer's own bypasses it."""
    stock = original(LOSS_COMPUTATION)
    values = stock(logits_list, labels, edges, losses)
    return [value.reshape([1]) if value.ndim == 0 else value for value in values]


FIX = Fix(name="core.train.loss_computation:0d-losses",
          upstream="PaddleSeg #3373, #3520, #3616",
          is_needed=lambda: probe_loss_logging(original(LOSS_COMPUTATION), original(TRAIN)),
          patches={LOSS_COMPUTATION: loss_computation_1d})
