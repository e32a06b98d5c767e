"""Tests for ``paddleseg_pssl.compat.metrics``: the vectorised ``calculate_area``.

Every test calls PaddleSeg through its own public names (``paddleseg.utils.metrics``,
``sys.modules['paddleseg.core.train']``, ``paddleseg.models.losses``, ``paddleseg.core``), so
that with the fixes not installed each of them fails on this stack. Values are compared with hand-computed examples and a numpy
reference of the stock semantics.
"""
import numpy as np
import paddle
import pytest

import paddleseg_pssl  # noqa: F401  (applies the fixes)
from paddleseg_pssl import compat

import paddleseg.utils.metrics as metrics
from tests.compat.stack import IGNORE, NEEDS_STOCK, ON_0D_PADDLE, STOCK_28


def reference_areas(pred, label, num_classes, ignore_index):
    """numpy transcription of the stock per-class loop's semantics."""
    pred, label = pred.reshape(-1), label.reshape(-1)
    mask = label != ignore_index
    inter, pred_area, label_area = [], [], []
    for c in range(num_classes):
        pred_c = (pred == c) & mask
        label_c = label == c
        inter.append(np.sum(pred_c & label_c))
        pred_area.append(np.sum(pred_c))
        label_area.append(np.sum(label_c))
    return [np.array(x, dtype=np.int64) for x in (inter, pred_area, label_area)]


def test_calculate_area_hand_computed():
    label = paddle.to_tensor([[[0, 1, IGNORE], [2, 1, 1]]], dtype="int64")
    pred = paddle.to_tensor([[[0, 1, 2], [1, 1, 0]]], dtype="int32")
    inter, pred_area, label_area = metrics.calculate_area(pred, label, 3, ignore_index=IGNORE)
    # The ignored pixel predicts class 2: it counts nowhere.
    assert inter.numpy().tolist() == [1, 2, 0]
    assert pred_area.numpy().tolist() == [2, 3, 0]
    assert label_area.numpy().tolist() == [1, 3, 1]
    for area in (inter, pred_area, label_area):
        assert area.dtype == paddle.int64 and list(area.shape) == [3]


@pytest.mark.parametrize("num_classes,shape,ignore_index", [
    (1, (2, 1, 5, 7), IGNORE),
    (5, (2, 1, 9, 11), IGNORE),
    (5, (3, 8, 8), IGNORE),
    (4, (2, 1, 6, 6), 0),  # ignore index inside the class range
    (1001, (1, 1, 32, 32), IGNORE),
])
def test_calculate_area_matches_numpy_reference(num_classes, shape, ignore_index):
    rng = np.random.default_rng(num_classes)
    label = rng.integers(0, num_classes, shape)
    label[rng.random(shape) < 0.2] = ignore_index
    label[rng.random(shape) < 0.05] = num_classes + 3  # out-of-range label: counts nowhere
    pred = rng.integers(0, num_classes, shape)
    got = metrics.calculate_area(paddle.to_tensor(pred.astype("int32")),
                                 paddle.to_tensor(label.astype("int64")), num_classes,
                                 ignore_index=ignore_index)
    for name, g, r in zip(("intersect", "pred", "label"), got,
                          reference_areas(pred, label, num_classes, ignore_index)):
        np.testing.assert_array_equal(g.numpy(), r, err_msg=f"{name}_area")
        assert g.dtype == paddle.int64 and list(g.shape) == [num_classes]


def test_calculate_area_rejects_bad_input():
    pred = paddle.zeros([1, 4, 4], dtype="int32")
    with pytest.raises(ValueError, match="same shape"):
        metrics.calculate_area(pred, paddle.zeros([1, 4, 5], dtype="int64"), 3)
    with pytest.raises(ValueError, match="num_classes"):
        metrics.calculate_area(pred, paddle.zeros([1, 4, 4], dtype="int64"), 0)


@pytest.mark.skipif(not (ON_0D_PADDLE and STOCK_28), reason=NEEDS_STOCK)
def test_stock_calculate_area_crashes_here():
    """Why the fix exists: the stock loop concatenates 0-D sums (PaddleSeg #3408)."""
    stock = compat.original(compat.CALCULATE_AREA)
    with pytest.raises(ValueError):
        stock(paddle.zeros([1, 2, 2], "int32"), paddle.zeros([1, 2, 2], "int64"), 2)
