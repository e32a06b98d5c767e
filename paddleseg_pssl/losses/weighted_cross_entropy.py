"""``WeightedCrossEntropyLoss``: Eq. 3 of PSSL (arXiv 2207.03335).

Per pixel, l(x) = -w_{T(x)} log p_{T(x), x}, with w_B = ``background_weight`` (0.1, Table 1)
for the background class B and 1 elsewhere, sized from the logits (no config lists 1001 weights).
"""
import numbers
from typing import Optional

import paddle
import paddle.nn.functional as F
from paddle import nn
from paddleseg.cvlibs import manager
from paddleseg.utils import logger

from paddleseg_pssl import pssl_format
from paddleseg_pssl.constants import DEFAULT_BACKGROUND_WEIGHT
from paddleseg_pssl.errors import PSSLConfigError


@manager.LOSSES.add_component
class WeightedCrossEntropyLoss(nn.Layer):
    """Cross entropy with weight ``background_weight`` on the background class, 1 elsewhere.

    Reduction: ``mean_x w_{T(x)} l_x / (mean_x w_{T(x)} + 1e-8)``, ignored pixels weighing 0, as
    PaddleSeg's ``CrossEntropyLoss(weight=...)`` with its PSSL configs' 1001-number weight list
    (Eq. 3 leaves the reduction open), without a one-hot tensor. ``background_index`` None: the
    last class; ``ignore_index`` None: ``pssl_format.ignore_index_for(C)``, as ``PSSLDataset``.
    """
    EPS = 1e-8

    def __init__(self, background_weight: float = DEFAULT_BACKGROUND_WEIGHT,
                 background_index: Optional[int] = None, ignore_index: Optional[int] = None,
                 data_format: str = "NCHW") -> None:
        super().__init__()
        if not isinstance(background_weight, numbers.Real) or not background_weight >= 0:
            raise PSSLConfigError(f"background_weight must be >= 0, got {background_weight!r}; "
                                  f"expected a number such as {DEFAULT_BACKGROUND_WEIGHT}")
        if data_format not in ("NCHW", "NHWC"):
            raise PSSLConfigError(f"data_format must be 'NCHW' or 'NHWC', got {data_format!r}")
        if background_index is not None and background_index < 0:
            raise PSSLConfigError(f"background_index must be >= 0 or None (last class), "
                                  f"got {background_index}")
        self.background_weight = float(background_weight)
        self.background_index = background_index
        self.ignore_index = ignore_index
        self.data_format = data_format
        self._warned_ignore = False

    def resolve(self, num_classes: int):
        """(background index, ignore index) for logits of ``num_classes`` channels."""
        background = num_classes - 1 if self.background_index is None else self.background_index
        if background >= num_classes:
            raise ValueError(f"background_index {background} is not a class of logits with "
                             f"{num_classes} channels; expected 0..{num_classes - 1}")
        ignore = pssl_format.ignore_index_for(num_classes) if self.ignore_index is None \
            else self.ignore_index
        if 0 <= ignore < num_classes and not self._warned_ignore:
            self._warned_ignore = True
            logger.warning(f"WeightedCrossEntropyLoss: ignore_index {ignore} is a class id of "
                           f"logits with {num_classes} channels; that class is never trained "
                           "(leave ignore_index unset to use "
                           f"{pssl_format.ignore_index_for(num_classes)})")
        return background, ignore

    def class_weights(self, num_classes: int) -> paddle.Tensor:
        """The Eq. 3 weight vector, float32 (num_classes,): 1 everywhere, w_B at B."""
        background, _ = self.resolve(num_classes)
        weights = paddle.ones([num_classes], dtype="float32")
        weights[background] = self.background_weight
        return weights

    def forward(self, logit: paddle.Tensor, label: paddle.Tensor,
                semantic_weights: Optional[paddle.Tensor] = None) -> paddle.Tensor:
        """Weighted mean cross entropy (float32 scalar) of (N, C, H, W) logits (or NHWC) and
        (N[, 1], H, W) labels; ``semantic_weights`` (N, H, W) scale the numerator."""
        axis = 1 if self.data_format == "NCHW" else -1
        num_classes = logit.shape[axis]
        background, ignore = self.resolve(num_classes)
        if label.ndim == logit.ndim:
            label = label.squeeze(axis)
        label = label.astype("int64")
        label.stop_gradient = True
        if axis == 1:
            # Paddle's CPU softmax over a strided channel axis is ~2x slower than over the last
            # axis, even counting the transpose.
            logit = logit.transpose([0, *range(2, logit.ndim), 1])
        nll = F.cross_entropy(logit, label, axis=-1, ignore_index=ignore, reduction="none")
        if nll.ndim > label.ndim:
            nll = nll.squeeze(-1)
        nll = nll.astype("float32")
        keep = (label != ignore).astype("float32")
        pixel_weight = keep * paddle.where(label == background,
                                           paddle.full([], self.background_weight, "float32"),
                                           paddle.full([], 1.0, "float32"))
        pixel_weight.stop_gradient = True
        weighted = nll * pixel_weight
        if semantic_weights is not None:
            weighted = weighted * semantic_weights.astype("float32")
        return paddle.mean(weighted) / (paddle.mean(pixel_weight) + self.EPS)
