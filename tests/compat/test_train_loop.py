"""Tests for ``paddleseg_pssl.compat.train_loop``: 0-D losses stay loggable by core.train.

Every test calls PaddleSeg through its own public names (``paddleseg.utils.metrics``,
``sys.modules['paddleseg.core.train']``, ``paddleseg.models.losses``, ``paddleseg.core``), so
that with the fixes not installed each of them fails on this stack.
"""
import numpy as np
import paddle

import paddleseg_pssl  # noqa: F401  (applies the fixes)
from paddleseg_pssl import compat

from paddleseg.models import losses as seg_losses
from tests.compat.stack import NUM_CLASSES, train_module


def test_loss_computation_returns_loggable_1d_losses():
    logits = paddle.randn([2, NUM_CLASSES, 4, 4])
    logits.stop_gradient = False
    labels = paddle.to_tensor(np.random.default_rng(0).integers(0, NUM_CLASSES, (2, 4, 4)))
    mixed = seg_losses.MixedLoss([seg_losses.CrossEntropyLoss(),
                                  seg_losses.LovaszSoftmaxLoss()], [0.8, 0.2])
    losses = {"types": [mixed, seg_losses.CrossEntropyLoss()], "coef": [1, 0.4]}
    loss_list = train_module().loss_computation(
        logits_list=[logits, logits], labels=labels, edges=None, losses=losses)
    assert len(loss_list) == 3 and all(list(v.shape) == [1] for v in loss_list)
    # core.train.train's logging: numpy arrays summed, then indexed with [0].
    logged = [v.numpy() for v in loss_list]
    assert all(np.isfinite(v[0]) for v in logged)
    stock = compat.original(compat.LOSS_COMPUTATION)(
        logits_list=[logits, logits], labels=labels, edges=None, losses=losses)
    np.testing.assert_allclose([v[0] for v in logged], [float(v) for v in stock], rtol=1e-6)
    sum(loss_list).backward()
    assert logits.grad is not None and float(logits.grad.abs().sum()) > 0
