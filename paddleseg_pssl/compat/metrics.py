"""``paddleseg.utils.metrics.calculate_area`` as three bincounts: replaced always, as the stock
per-class loop is slow at 1001 classes (``benchmarks/bench_calculate_area.py``)."""
from typing import Tuple

import paddle

from paddleseg_pssl.compat.patching import Fix, is_patched
from paddleseg_pssl.constants import IGNORE_INDEX

#: The replaced function.
CALCULATE_AREA = "paddleseg.utils.metrics:calculate_area"


def calculate_area(pred: paddle.Tensor,
                   label: paddle.Tensor,
                   num_classes: int,
                   ignore_index: int = IGNORE_INDEX
                   ) -> Tuple[paddle.Tensor, paddle.Tensor, paddle.Tensor]:
    """Per-class (intersect_area, pred_area, label_area), int64 [num_classes], of integer
    ``pred`` and ``label`` (N[, 1], H, W), as the stock 2.8.0 contract: a prediction counts only
    where the label is not ``ignore_index``; values outside ``[0, num_classes)`` count nowhere.
    Unlike stock, it never concatenates 0-D tensors (PaddleSeg #3373, #3408, #3556)."""
    if num_classes <= 0:
        raise ValueError(f"calculate_area: num_classes must be positive, got {num_classes}")
    if pred.ndim == 4:
        pred = paddle.squeeze(pred, axis=1)
    if label.ndim == 4:
        label = paddle.squeeze(label, axis=1)
    if list(pred.shape) != list(label.shape):
        raise ValueError("calculate_area: pred and label must have the same shape, got "
                         f"pred {list(pred.shape)} and label {list(label.shape)}")
    pred = pred.astype("int64").reshape([-1])
    label = label.astype("int64").reshape([-1])
    # Pixels that must not count go to an extra bin C, cut off after counting: fixed
    # shapes, no masked_select.
    spill = paddle.full_like(label, num_classes)

    def is_class(x: paddle.Tensor) -> paddle.Tensor:
        return paddle.logical_and(x >= 0, x < num_classes)

    def count(selected: paddle.Tensor, values: paddle.Tensor) -> paddle.Tensor:
        binned = paddle.where(selected, values, spill)
        return paddle.bincount(binned, minlength=num_classes + 1)[:num_classes].astype("int64")

    pred_counts = paddle.logical_and(label != ignore_index, is_class(pred))
    intersect_area = count(paddle.logical_and(pred_counts, pred == label), pred)
    pred_area = count(pred_counts, pred)
    label_area = count(is_class(label), label)
    return intersect_area, pred_area, label_area


FIX = Fix(name="metrics.calculate_area:vectorised",
          upstream="PaddleSeg #3373, #3408, #3556 (0-D concat; upstream PR #3256/#3356); "
          "replaced always for speed at 1001 classes",
          is_needed=lambda: not is_patched(CALCULATE_AREA),
          patches={CALCULATE_AREA: calculate_area})
