"""Compatibility fixes that let PaddleSeg 2.8.0's stock engine run on Paddle 3.x.

PSSL (arXiv 2207.03335) trains and fine-tunes with PaddleSeg's own ``core.train`` and
``core.evaluate``. PaddleSeg 2.8.0, the newest release, predates two Paddle 3 changes that
break that engine:

* **0-D tensors.** Full reductions (``paddle.mean``, ``paddle.sum``) return shape ``[]``
  instead of ``[1]``; code that indexes ``x[0]`` or concatenates such values fails.
* **Type promotion.** Binary ops between an integer and a floating tensor raise
  ``TypeError: (InvalidType) Type promotion only support ...`` instead of silently
  keeping the left operand's dtype.

Users hit both: PaddleSeg issues #3373 (``IndexError: too many indices for array`` in
``train.py``) and #3603 (training and evaluation failing on Paddle 3.0). Every fix below is

* written here (no PaddleSeg code is copied),
* feature-detected: a probe runs the stock code on a tiny input and the fix is only
  installed when that probe shows the failure, so a fixed PaddleSeg is left alone,
* idempotent: :func:`apply` may be called any number of times,
* covered by ``tests/test_compat.py``.

The one exception to "only when broken" is :func:`calculate_area`: the vectorised
(bincount) version replaces the stock per-class loop always, because the loop is slow at
the 1001 classes of PSSL pre-training (see ``benchmarks/bench_calculate_area.py``). It keeps
the stock return contract.

Usage::

    import paddleseg_pssl          # applies every fix
    from paddleseg_pssl import compat
    print(compat.applied_fixes())  # names of the fixes this Paddle needed
"""
import dataclasses
import inspect
import sys
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import paddle
import paddle.nn.functional as F

#: Attribute set on every replacement so that a second :func:`apply` recognises it.
_MARKER = "__pssl_compat_fix__"

#: Probe inputs are this small (pixels per side, classes).
_PROBE_SIZE = 2
_PROBE_CLASSES = 2

#: Label value PaddleSeg ignores by default in losses and metrics.
_DEFAULT_IGNORE_INDEX = 255

#: Stock objects replaced by a fix, keyed by "module:attribute" (tests and benchmarks read them).
_ORIGINALS: Dict[str, object] = {}

#: Names of the fixes installed so far, in installation order.
_APPLIED: List[str] = []


@dataclasses.dataclass(frozen=True)
class Fix:
    """One compatibility fix.

    Attributes:
        name: Short identifier, logged by the CLI.
        upstream: The PaddleSeg issue / pull request that reports or fixes the failure.
        is_needed: Probe; True when the installed PaddleSeg shows the failure.
        install: Installs the replacement (only called when ``is_needed()`` is True).
    """

    name: str
    upstream: str
    is_needed: Callable[[], bool]
    install: Callable[[], None]


# --------------------------------------------------------------------------- helpers


def _module(name: str):
    """Returns the imported module object ``name`` (not a same-named re-exported function).

    ``paddleseg.core.train`` is both a module and, after ``paddleseg.core``'s
    ``from .train import train``, a function attribute of the package; ``sys.modules`` holds
    the module.
    """
    __import__(name)
    return sys.modules[name]


def _replace(module_name: str, attr: str, new: object, also: Sequence[str] = ()) -> None:
    """Replaces ``module_name.attr`` by ``new``, keeping the stock object in ``_ORIGINALS``.

    Args:
        module_name: Dotted module that defines the attribute.
        attr: Attribute (function or method-holding class attribute) to replace.
        new: Replacement; it is marked so that :func:`_is_ours` recognises it.
        also: Further modules that re-export the same object under the same name; they are
            patched too when they still hold the stock object.
    """
    module = _module(module_name)
    old = getattr(module, attr)
    if _is_ours(old):
        return
    _ORIGINALS.setdefault(f"{module_name}:{attr}", old)
    setattr(new, _MARKER, True)
    setattr(module, attr, new)
    for other_name in also:
        other = _module(other_name)
        if getattr(other, attr, None) is old:
            setattr(other, attr, new)


def _replace_method(cls: type, attr: str, new: Callable, module_name: str) -> None:
    """Replaces method ``cls.attr`` by ``new``, keeping the stock one in ``_ORIGINALS``.

    Subclasses that inherit the method (e.g. ``DistillCrossEntropyLoss``) get the fix too.
    """
    current = cls.__dict__[attr]
    if _is_ours(current):
        return
    _ORIGINALS.setdefault(f"{module_name}:{cls.__name__}.{attr}", current)
    setattr(new, _MARKER, True)
    setattr(cls, attr, new)


def _is_ours(obj: object) -> bool:
    return bool(getattr(obj, _MARKER, False))


def original(key: str) -> object:
    """Returns the stock PaddleSeg object a fix replaced.

    Args:
        key: ``"module:attribute"``, e.g. ``"paddleseg.utils.metrics:calculate_area"``.

    Returns:
        The object that was in place before :func:`apply`; if no fix replaced it, the
        current object.

    Raises:
        ValueError: If ``key`` is not of the form ``"module:attribute"``.
    """
    if ":" not in key:
        raise ValueError(f"key {key!r} must look like 'module:attribute', "
                         "e.g. 'paddleseg.utils.metrics:calculate_area'")
    if key in _ORIGINALS:
        return _ORIGINALS[key]
    module_name, attr = key.split(":", 1)
    return getattr(_module(module_name), attr)


def _fails(fn: Callable[[], object], errors: Tuple[type, ...] = (Exception, )) -> bool:
    """True when calling ``fn`` raises one of ``errors`` (a probe of stock behaviour)."""
    try:
        fn()
    except errors:
        return True
    return False


# ------------------------------------------------- fix 1: vectorised calculate_area


def calculate_area(pred: paddle.Tensor,
                   label: paddle.Tensor,
                   num_classes: int,
                   ignore_index: int = _DEFAULT_IGNORE_INDEX
                   ) -> Tuple[paddle.Tensor, paddle.Tensor, paddle.Tensor]:
    """Per-class intersection, prediction and label pixel counts, in three bincounts.

    Same contract as ``paddleseg.utils.metrics.calculate_area`` (2.8.0): a prediction pixel
    counts only where the label is not ``ignore_index``; the label area counts every label
    pixel whose value is a class id. Values outside ``[0, num_classes)`` are dropped. Runs in
    O(pixels) instead of the stock O(pixels * classes) loop, and never concatenates 0-D
    tensors (the stock loop's failure on Paddle 3, PaddleSeg #3373 / #3603).

    Args:
        pred: Predicted class ids, integer, shape (N, H, W) or (N, 1, H, W).
        label: Ground truth class ids, integer, same shape as ``pred``.
        num_classes: Number of classes C.
        ignore_index: Label value to ignore.

    Returns:
        (intersect_area, pred_area, label_area): int64 tensors of shape [C].

    Raises:
        ValueError: If the shapes of ``pred`` and ``label`` differ (after dropping a
            channel axis of size 1) or ``num_classes`` is not positive.
    """
    if num_classes <= 0:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    if pred.ndim == 4:
        pred = paddle.squeeze(pred, axis=1)
    if label.ndim == 4:
        label = paddle.squeeze(label, axis=1)
    if list(pred.shape) != list(label.shape):
        raise ValueError("calculate_area: pred and label must have the same shape, got "
                         f"pred {list(pred.shape)} and label {list(label.shape)}")
    pred = pred.astype("int64").reshape([-1])
    label = label.astype("int64").reshape([-1])
    overflow_bin = paddle.full_like(label, num_classes)  # dropped after counting

    def in_range(x: paddle.Tensor) -> paddle.Tensor:
        return paddle.logical_and(x >= 0, x < num_classes)

    def count(selected: paddle.Tensor, values: paddle.Tensor) -> paddle.Tensor:
        binned = paddle.where(selected, values, overflow_bin)
        return paddle.bincount(binned, minlength=num_classes + 1)[:num_classes]

    not_ignored = label != ignore_index
    pred_valid = paddle.logical_and(not_ignored, in_range(pred))
    pred_area = count(pred_valid, pred)
    label_area = count(in_range(label), label)
    intersect_area = count(paddle.logical_and(pred_valid, pred == label), pred)
    return (intersect_area.astype("int64"), pred_area.astype("int64"),
            label_area.astype("int64"))


def _install_calculate_area() -> None:
    _replace("paddleseg.utils.metrics", "calculate_area", calculate_area)


# ---------------------------------------- fix 2: 0-D losses in core.train's loss logging


def _stock_losses_are_0d() -> bool:
    """True when ``core.train.loss_computation`` yields 0-D losses (``l[0]`` then fails).

    ``core.train.train`` averages the per-loss values as numpy arrays and reads them back
    with ``l[0]``, which raises ``IndexError: too many indices`` on a 0-D array.
    """
    train_module = _module("paddleseg.core.train")
    loss_computation = _ORIGINALS.get("paddleseg.core.train:loss_computation",
                                      train_module.loss_computation)
    logits = paddle.zeros([1, _PROBE_CLASSES, _PROBE_SIZE, _PROBE_SIZE])
    labels = paddle.zeros([1, _PROBE_SIZE, _PROBE_SIZE], dtype="int64")
    losses = {"types": [_MeanProbeLoss()], "coef": [1.0]}
    values = loss_computation(logits, labels, None, losses)
    if not any(v.ndim == 0 for v in values):
        return False
    return _source_contains(train_module.train, "l[0]")


def _source_contains(fn: Callable, text: str) -> bool:
    """True when ``fn``'s source holds ``text``, or when the source cannot be read."""
    try:
        return text in inspect.getsource(fn)
    except (OSError, TypeError):
        return True


class _MeanProbeLoss(paddle.nn.Layer):
    """A loss that returns what every stock loss returns: a full mean (0-D on Paddle 3)."""

    def forward(self, logits: paddle.Tensor, labels: paddle.Tensor) -> paddle.Tensor:
        return paddle.mean(logits)


def _install_loss_computation_1d() -> None:
    train_module = _module("paddleseg.core.train")
    stock = _ORIGINALS.get("paddleseg.core.train:loss_computation",
                           train_module.loss_computation)

    def loss_computation(logits_list, labels, edges, losses):
        """Stock ``loss_computation`` with each loss reshaped from 0-D to shape [1].

        ``core.train.train`` logs ``l[0]`` of every loss (PaddleSeg #3373); shape [1] keeps
        that, ``sum(loss_list)``, ``float(loss)`` and ``backward()`` working.
        """
        values = stock(logits_list, labels, edges, losses)
        return [v.reshape([1]) if v.ndim == 0 else v for v in values]

    _replace("paddleseg.core.train", "loss_computation", loss_computation)


# ------------------------- fix 3: CrossEntropyLoss mixes int64 and float32 (type promotion)


def _stock_ce_post_process_fails() -> bool:
    """True when ``CrossEntropyLoss`` (with or without ``weight``) fails on a tiny input."""
    from paddleseg.models.losses import CrossEntropyLoss
    logits = paddle.zeros([1, _PROBE_CLASSES, _PROBE_SIZE, _PROBE_SIZE])
    labels = paddle.zeros([1, _PROBE_SIZE, _PROBE_SIZE], dtype="int64")
    post = _ORIGINALS.get("paddleseg.models.losses.cross_entropy_loss:"
                          "CrossEntropyLoss._post_process_loss",
                          CrossEntropyLoss._post_process_loss)

    def run(weight: Optional[List[float]]) -> None:
        loss_fn = CrossEntropyLoss(weight=weight)
        logit = paddle.transpose(logits, [0, 2, 3, 1])
        loss = F.cross_entropy(logit, labels, reduction="none", weight=loss_fn.weight)
        post(loss_fn, logit, labels, None, loss)

    return _fails(lambda: run(None)) or _fails(lambda: run([1.0] * _PROBE_CLASSES))


def _ce_post_process_loss(self, logit: paddle.Tensor, label: paddle.Tensor,
                          semantic_weights: Optional[paddle.Tensor],
                          loss: paddle.Tensor) -> paddle.Tensor:
    """Weighted mean of a per-pixel cross entropy, with every operand in float32.

    Replaces ``CrossEntropyLoss._post_process_loss``: the stock one multiplies the int64
    label by a float32 mask and a float32 mask by an int64 ``ones_like(label)``, which Paddle
    3 type promotion rejects (PaddleSeg #3603). Same result: sum of ``loss * mask *
    semantic_weights`` over the pixels divided by the sum of ``mask * class_weight[label]``
    (the stock code divides two means of the same pixel count). With ``top_k_percent_pixels
    < 1`` only the k largest per-pixel losses count. Ignored pixels have class weight 1 when
    ``avg_non_ignore`` is False (the stock code then fails on the out-of-range label).

    Args:
        logit: Logits, channels last, shape (N, H, W, C).
        label: Class ids, int64, shape (N, H, W).
        semantic_weights: Optional per-pixel weights, shape (N, H, W).
        loss: Per-pixel cross entropy, shape (N, H, W) or (N, H, W, 1).

    Returns:
        0-D float32 loss.
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
        safe_label = paddle.where(valid, label, paddle.zeros_like(label))
        coef = paddle.gather(self.weight.astype("float32"), safe_label.reshape([-1]))
        coef = paddle.where(valid.reshape([-1]), coef, paddle.ones_like(coef))
        coef = coef.reshape(label.shape)
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


def _install_ce_post_process() -> None:
    from paddleseg.models.losses import CrossEntropyLoss
    _replace_method(CrossEntropyLoss, "_post_process_loss", _ce_post_process_loss,
                    "paddleseg.models.losses.cross_entropy_loss")


# -------------------------- fix 4: OhemCrossEntropyLoss mixes int64 masks and float probabilities


def _stock_ohem_fails() -> bool:
    """True when ``OhemCrossEntropyLoss`` fails on a tiny input that takes its mining branch.

    The mining branch runs when ``min_kept`` is below the number of valid pixels.
    """
    from paddleseg.models.losses import OhemCrossEntropyLoss
    forward = _ORIGINALS.get("paddleseg.models.losses.ohem_cross_entropy_loss:"
                             "OhemCrossEntropyLoss.forward", OhemCrossEntropyLoss.forward)
    loss_fn = OhemCrossEntropyLoss(min_kept=1)
    logits = paddle.zeros([1, _PROBE_CLASSES, _PROBE_SIZE, _PROBE_SIZE])
    labels = paddle.zeros([1, _PROBE_SIZE, _PROBE_SIZE], dtype="int64")
    return _fails(lambda: forward(loss_fn, logits, labels))


def _ohem_forward(self, logit: paddle.Tensor, label: paddle.Tensor) -> paddle.Tensor:
    """Online hard example mining cross entropy, with boolean masks instead of int64 ones.

    Replaces ``OhemCrossEntropyLoss.forward``: the stock one adds an int64 mask to float
    probabilities (``prob + (1 - valid_mask)``), which Paddle 3 type promotion rejects
    (PaddleSeg #3603). Same rule: when more than ``min_kept`` pixels are valid, keep only the
    pixels whose true-class probability is below ``max(thresh, p_k)``, ``p_k`` being the
    ``min_kept``-th smallest such probability; average the cross entropy over kept pixels.

    Args:
        logit: Logits, shape (N, C, H, W).
        label: Class ids, shape (N, H, W) or (N, 1, H, W).

    Returns:
        0-D float32 loss.
    """
    n, c, h, w = logit.shape
    label = label.reshape([-1]).astype("int64")
    valid = label != self.ignore_index
    num_valid = int(valid.astype("int64").sum())
    label = paddle.where(valid, label, paddle.zeros_like(label))
    if 0 < num_valid and self.min_kept < num_valid and self.min_kept > 0:
        prob = F.softmax(logit.astype("float32"), axis=1)
        prob = prob.transpose([1, 0, 2, 3]).reshape([c, -1])
        true_prob = paddle.take_along_axis(prob, label.unsqueeze(0), axis=0).squeeze(0)
        # Ignored pixels get a probability above 1 so that they are never "hard".
        true_prob = paddle.where(valid, true_prob, paddle.full_like(true_prob, 2.0))
        kth = float(paddle.sort(true_prob)[min(true_prob.shape[0], self.min_kept) - 1])
        threshold = max(kth, self.thresh)
        valid = paddle.logical_and(valid, true_prob < threshold)
    label = paddle.where(valid, label, paddle.full_like(label, self.ignore_index))
    label = label.reshape([n, 1, h, w])
    valid_mask = valid.astype("float32").reshape([n, 1, h, w])
    label.stop_gradient = True
    valid_mask.stop_gradient = True
    loss = F.softmax_with_cross_entropy(
        logit, label, ignore_index=self.ignore_index, axis=1).astype("float32")
    loss = loss * valid_mask
    return paddle.mean(loss) / (paddle.mean(valid_mask) + self.EPS)


def _install_ohem_forward() -> None:
    from paddleseg.models.losses import OhemCrossEntropyLoss
    _replace_method(OhemCrossEntropyLoss, "forward", _ohem_forward,
                    "paddleseg.models.losses.ohem_cross_entropy_loss")


# ------------------------------------------------------------------------------ registry

_FIXES: Tuple[Fix, ...] = (
    Fix(name="metrics.calculate_area:vectorised",
        upstream="PaddleSeg #3373, #3603 (0-D concat); speed-up at 1001 classes",
        is_needed=lambda: not _is_ours(_module("paddleseg.utils.metrics").calculate_area),
        install=_install_calculate_area),
    Fix(name="core.train.loss_computation:0d-losses",
        upstream="PaddleSeg #3373",
        is_needed=_stock_losses_are_0d,
        install=_install_loss_computation_1d),
    Fix(name="losses.CrossEntropyLoss._post_process_loss:type-promotion",
        upstream="PaddleSeg #3603",
        is_needed=_stock_ce_post_process_fails,
        install=_install_ce_post_process),
    Fix(name="losses.OhemCrossEntropyLoss.forward:type-promotion",
        upstream="PaddleSeg #3603",
        is_needed=_stock_ohem_fails,
        install=_install_ohem_forward),
)


def apply() -> Tuple[str, ...]:
    """Installs every fix whose probe shows the failure; safe to call repeatedly.

    Returns:
        Names of all fixes installed so far (same as :func:`applied_fixes`).
    """
    for fix in _FIXES:
        if fix.name in _APPLIED:
            continue
        if fix.is_needed():
            fix.install()
            _APPLIED.append(fix.name)
    return applied_fixes()


def applied_fixes() -> Tuple[str, ...]:
    """Names of the fixes :func:`apply` installed, in order (for the CLI to log)."""
    return tuple(_APPLIED)


def available_fixes() -> Tuple[Fix, ...]:
    """Every fix this module knows, installed or not, with its upstream reference."""
    return _FIXES
