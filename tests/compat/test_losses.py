"""Tests for ``paddleseg_pssl.compat.losses``: cross entropy and OHEM under type promotion.

Every test calls PaddleSeg through its own public names (``paddleseg.utils.metrics``,
``sys.modules['paddleseg.core.train']``, ``paddleseg.models.losses``, ``paddleseg.core``), so
that with the fixes not installed each of them fails on this stack. Values are compared with Paddle's own cross entropy and numpy
references of the stock semantics.
"""
import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

import paddleseg_pssl  # noqa: F401  (applies the fixes)

from paddleseg.models import losses as seg_losses
from tests.compat.stack import IGNORE, NUM_CLASSES


def random_batch(seed, n=2, c=NUM_CLASSES, h=5, w=6, ignored=0.2):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, c, h, w)).astype("float32")
    label = rng.integers(0, c, (n, h, w))
    label[rng.random(label.shape) < ignored] = IGNORE
    return logits, label


def numpy_ce(logits, label):
    """Per-pixel cross entropy (N, H, W), 0 where ignored; and the clipped label."""
    logp = logits - logits.max(1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    safe = np.where(label == IGNORE, 0, label)
    ce = -np.take_along_axis(logp, safe[:, None], axis=1)[:, 0]
    return np.where(label == IGNORE, 0.0, ce), safe


@pytest.mark.parametrize("weight", [None, [0.1, 1.0, 2.0]])
def test_cross_entropy_matches_paddle_reference(weight):
    logits, label = random_batch(1)
    loss_fn = seg_losses.CrossEntropyLoss(weight=weight)
    x = paddle.to_tensor(logits, stop_gradient=False)
    loss = loss_fn(x, paddle.to_tensor(label))
    expected = F.cross_entropy(paddle.to_tensor(logits).transpose([0, 2, 3, 1]),
                               paddle.to_tensor(label), ignore_index=IGNORE,
                               weight=None if weight is None else paddle.to_tensor(weight))
    np.testing.assert_allclose(float(loss), float(expected), rtol=1e-5)
    loss.backward()
    assert float(x.grad.abs().sum()) > 0


def test_cross_entropy_top_k_semantic_weights_and_avg_all():
    logits, label = random_batch(2)
    weight = np.array([0.1, 1.0, 2.0], dtype="float32")
    ce, safe = numpy_ce(logits, label)
    valid = label != IGNORE
    coef = np.where(valid, weight[safe], 1.0)
    weighted = ce * weight[safe] * valid
    eps = seg_losses.CrossEntropyLoss().EPS

    # Top 30% hardest pixels: mean of their losses over mean of their class weights.
    loss_fn = seg_losses.CrossEntropyLoss(weight=weight.tolist(), top_k_percent_pixels=0.3)
    got = float(loss_fn(paddle.to_tensor(logits), paddle.to_tensor(label)))
    k = int(0.3 * weighted.size)
    top = np.argsort(-weighted.reshape(-1), kind="stable")[:k]
    expected = weighted.reshape(-1)[top].mean() / (coef.reshape(-1)[top].mean() + eps)
    np.testing.assert_allclose(got, expected, rtol=1e-5)

    # Per-pixel semantic weights, no class weight.
    sw = np.random.default_rng(3).random(label.shape).astype("float32")
    got = float(seg_losses.CrossEntropyLoss()(paddle.to_tensor(logits), paddle.to_tensor(label),
                                              semantic_weights=paddle.to_tensor(sw)))
    np.testing.assert_allclose(got, (ce * sw).sum() / (valid.sum() + eps * valid.size),
                               rtol=1e-5)

    # avg_non_ignore=False averages over every pixel, ignored ones included.
    got = float(seg_losses.CrossEntropyLoss(avg_non_ignore=False)(paddle.to_tensor(logits),
                                                                  paddle.to_tensor(label)))
    np.testing.assert_allclose(got, ce.mean() / (1 + eps), rtol=1e-5)


def numpy_ohem(logits, label, thresh, min_kept, eps):
    ce, safe = numpy_ce(logits, label)
    valid = (label != IGNORE).reshape(-1)
    prob = np.exp(-ce).reshape(-1)
    if 0 < min_kept < valid.sum():
        prob = np.where(valid, prob, 2.0)
        kth = np.sort(prob)[min(prob.size, min_kept) - 1]
        valid = valid & (prob < max(kth, thresh))
    n = valid.size
    return (ce.reshape(-1) * valid).sum() / n / (valid.sum() / n + eps), valid.sum()


@pytest.mark.parametrize("thresh,min_kept", [(0.7, 5), (0.3, 5), (0.7, 10000), (0.7, 0)])
def test_ohem_cross_entropy_matches_numpy_reference(thresh, min_kept):
    logits, label = random_batch(4, h=6, w=6)
    loss_fn = seg_losses.OhemCrossEntropyLoss(thresh=thresh, min_kept=min_kept)
    x = paddle.to_tensor(logits, stop_gradient=False)
    loss = loss_fn(x, paddle.to_tensor(label))
    expected, kept = numpy_ohem(logits, label, thresh, min_kept, loss_fn.EPS)
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)
    assert kept > 0
    loss.backward()
    assert float(x.grad.abs().sum()) > 0


def test_ohem_mining_drops_easy_pixels():
    logits, label = random_batch(5, h=6, w=6, ignored=0.0)
    _, kept = numpy_ohem(logits, label, 0.3, 5, 1e-5)
    assert 5 <= kept < label.size  # the (0.3, 5) case above really mines
