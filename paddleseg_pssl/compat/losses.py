"""Fixes for PaddleSeg 2.8.0's cross-entropy losses under Paddle's type promotion.

Paddle 2.6+ (PR #63842) rejects binary ops between integer and floating tensors, which
``CrossEntropyLoss`` and ``OhemCrossEntropyLoss`` mix (PaddleSeg #3603; upstream PR #3731).
"""
from typing import Callable, List, Optional

import paddle
import paddle.nn.functional as F
from paddleseg.models.losses import CrossEntropyLoss, OhemCrossEntropyLoss

from paddleseg_pssl.compat.patching import (PROBE_CLASSES, Fix, fails, original, probe_labels,
                                            probe_logits)

#: The replaced methods.
CE_POST_PROCESS = ("paddleseg.models.losses.cross_entropy_loss:"
                   "CrossEntropyLoss._post_process_loss")
OHEM_FORWARD = ("paddleseg.models.losses.ohem_cross_entropy_loss:"
                "OhemCrossEntropyLoss.forward")

#: Probability given to ignored pixels in OHEM so they never count as hard (any value > 1).
_OHEM_IGNORED_PROB = 2.0


def probe_ce_post_process(post_process: Callable) -> bool:
    """True when ``post_process`` (a ``_post_process_loss``) fails with or without weight."""
    def run(weight: Optional[List[float]]) -> None:
        loss_fn = CrossEntropyLoss(weight=weight)
        logit = paddle.transpose(probe_logits(), [0, 2, 3, 1])
        labels = probe_labels()
        loss = F.cross_entropy(logit, labels, reduction="none", weight=loss_fn.weight)
        post_process(loss_fn, logit, labels, None, loss)

    return fails(lambda: run(None)) or fails(lambda: run([1.0] * PROBE_CLASSES))


def ce_post_process_loss(self, logit: paddle.Tensor, label: paddle.Tensor,
                          semantic_weights: Optional[paddle.Tensor],
                          loss: paddle.Tensor) -> paddle.Tensor:
    """Stock ``CrossEntropyLoss._post_process_loss`` (also ``DistillCrossEntropyLoss``'s) with
    every operand in float32: sum of ``loss * mask * semantic_weights`` over sum of ``mask *
    class_weight[label]`` (top ``top_k_percent_pixels`` losses only). Without
    ``avg_non_ignore`` ignored pixels count with weight 1 (stock would one-hot the ignore label).
    """
    valid = label != self.ignore_index
    if self.avg_non_ignore:
        mask = valid.astype("float32")
    else:
        mask = paddle.ones(label.shape, dtype="float32")
    mask.stop_gradient = True
    label.stop_gradient = True
    if loss.ndim > mask.ndim:
        loss = paddle.squeeze(loss, axis=-1)
    loss = loss.astype("float32") * mask
    if semantic_weights is not None:
        loss = loss * semantic_weights.astype("float32")
    if self.weight is not None:
        flat_valid = valid.reshape([-1])
        flat_label = label.reshape([-1])
        safe_label = paddle.where(flat_valid, flat_label, paddle.zeros_like(flat_label))
        coef = paddle.gather(self.weight.astype("float32"), safe_label)
        coef = paddle.where(flat_valid, coef, paddle.ones_like(coef)).reshape(label.shape)
    else:
        coef = paddle.ones(label.shape, dtype="float32")
    coef.stop_gradient = True
    if self.top_k_percent_pixels == 1.0:
        return paddle.mean(loss) / (paddle.mean(mask * coef) + self.EPS)
    loss = loss.reshape([-1])
    top_k = int(self.top_k_percent_pixels * loss.numel())
    loss, indices = paddle.topk(loss, top_k)
    coef = paddle.gather(coef.reshape([-1]), indices)
    return loss.mean() / (coef.mean() + self.EPS)


def probe_ohem_forward(forward: Callable) -> bool:
    """True when ``forward`` fails on a tiny input that takes the hard-mining branch
    (``min_kept`` below the valid pixel count)."""
    loss_fn = OhemCrossEntropyLoss(min_kept=1)
    return fails(lambda: forward(loss_fn, probe_logits(), probe_labels()))


def ohem_forward(self, logit: paddle.Tensor, label: paddle.Tensor) -> paddle.Tensor:
    """Stock ``OhemCrossEntropyLoss.forward`` with boolean masks (stock adds an int64 mask to
    float probabilities): with more than ``min_kept`` valid pixels, keep those whose true-class
    probability is below ``max(thresh, p_k)`` (``p_k`` the ``min_kept``-th smallest)."""
    n, c, h, w = logit.shape
    label = label.reshape([-1]).astype("int64")
    valid = label != self.ignore_index
    num_valid = int(valid.astype("int64").sum())
    label = paddle.where(valid, label, paddle.zeros_like(label))
    if 0 < self.min_kept < num_valid:
        prob = F.softmax(logit.astype("float32"), axis=1)
        prob = prob.transpose([1, 0, 2, 3]).reshape([c, -1])
        true_prob = paddle.take_along_axis(prob, label.unsqueeze(0), axis=0).squeeze(0)
        true_prob = paddle.where(valid, true_prob,
                                 paddle.full_like(true_prob, _OHEM_IGNORED_PROB))
        kth = float(paddle.sort(true_prob)[min(true_prob.shape[0], self.min_kept) - 1])
        valid = paddle.logical_and(valid, true_prob < max(kth, self.thresh))
    label = paddle.where(valid, label, paddle.full_like(label, self.ignore_index))
    label = label.reshape([n, 1, h, w])
    valid_mask = valid.astype("float32").reshape([n, 1, h, w])
    label.stop_gradient = True
    valid_mask.stop_gradient = True
    loss = F.softmax_with_cross_entropy(
        logit, label, ignore_index=self.ignore_index, axis=1).astype("float32")
    return paddle.mean(loss * valid_mask) / (paddle.mean(valid_mask) + self.EPS)


CE_FIX = Fix(name="losses.CrossEntropyLoss._post_process_loss:type-promotion",
             upstream="PaddleSeg #3603 (upstream PR #3731)",
             is_needed=lambda: probe_ce_post_process(original(CE_POST_PROCESS)),
             patches={CE_POST_PROCESS: ce_post_process_loss})

OHEM_FIX = Fix(name="losses.OhemCrossEntropyLoss.forward:type-promotion",
               upstream="PaddleSeg #3603 (upstream PR #3731)",
               is_needed=lambda: probe_ohem_forward(original(OHEM_FORWARD)),
               patches={OHEM_FORWARD: ohem_forward})
