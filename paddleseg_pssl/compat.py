"""Compatibility fixes that let PaddleSeg 2.8.0's stock engine run on Paddle 3.x.

PSSL (arXiv 2207.03335) pre-trains and fine-tunes with PaddleSeg's own ``core.train`` and
``core.evaluate``. PaddleSeg 2.8.0, the newest release on the registry, predates three Paddle
changes that break that engine:

* **0-D tensors** (Paddle 2.5+). Full reductions (``paddle.mean``, ``paddle.sum``) return
  shape ``[]`` instead of ``[1]``; code that indexes ``x[0]`` or concatenates such values
  fails.
* **``paddle.utils.profiler``** (gone from Paddle 3.x), which ``--profiler_options`` calls
  through ``paddleseg.utils.train_profiler``; ported to ``paddle.profiler``
  (:mod:`paddleseg_pssl.train_profiler`).
* **Type promotion** (Paddle 2.6+/3.x, Paddle PR #63842). Binary ops between an integer and
  a floating tensor raise ``TypeError: (InvalidType) Type promotion only support
  calculations between floating-point numbers ...`` instead of keeping the left dtype.

User reports: PaddleSeg issues #3373 and #3603, #3520 and #3616 (``l[0]`` in ``train.py``),
#3408 and #3556 (``calculate_area``); upstream fixed parts of this on its develop branch
(PR #3256 / #3356: concat -> stack, PR #3731: explicit casts), never in a 2.8 release.

Every fix here is

* written for this project (no PaddleSeg code is copied),
* feature-detected: a probe runs the *stock* code on a tiny input (or inspects it) and the
  fix is installed only when the probe shows the failure, so a fixed PaddleSeg is left
  alone,
* idempotent: :func:`apply` may be called any number of times,
* covered by ``tests/test_compat.py``.

The one fix that is not conditional is :func:`calculate_area`: the vectorised (bincount)
version replaces the stock per-class loop always, because that loop is slow at the 1001
classes of PSSL pre-training (``benchmarks/bench_calculate_area.py``). It keeps the stock
return contract, and also removes the stock 0-D concatenation failure.

Usage::

    import paddleseg_pssl          # applies every fix
    from paddleseg_pssl import compat
    print(compat.applied_fixes())  # names of the fixes this PaddleSeg/Paddle needed
"""
import dataclasses
import inspect
import sys
import types
import warnings
from typing import Callable, Dict, List, Optional, Tuple

import paddle
import paddle.nn.functional as F

from paddleseg_pssl import train_profiler

#: Attribute set on every replacement so that a second :func:`apply` recognises it.
_MARKER = "__pssl_compat_fix__"

#: Probe inputs are this small: pixels per side, classes.
_PROBE_SIZE = 2
_PROBE_CLASSES = 2

#: Label value PaddleSeg ignores by default in losses and metrics.
_DEFAULT_IGNORE_INDEX = 255

#: Probability given to ignored pixels in OHEM so they never count as hard (any value > 1).
_OHEM_IGNORED_PROB = 2.0

# Keys ("module:attribute" or "module:Class.method") of the stock objects the fixes replace.
CALCULATE_AREA = "paddleseg.utils.metrics:calculate_area"
LOSS_COMPUTATION = "paddleseg.core.train:loss_computation"
TRAIN = "paddleseg.core.train:train"
CE_POST_PROCESS = ("paddleseg.models.losses.cross_entropy_loss:"
                   "CrossEntropyLoss._post_process_loss")
OHEM_FORWARD = ("paddleseg.models.losses.ohem_cross_entropy_loss:"
                "OhemCrossEntropyLoss.forward")
PROFILER_STEP = "paddleseg.utils.train_profiler:add_profiler_step"

#: Stock objects replaced by a fix, by key (see :func:`original`).
_ORIGINALS: Dict[str, object] = {}

#: Names of the fixes installed so far, in installation order.
_APPLIED: List[str] = []


@dataclasses.dataclass(frozen=True)
class Fix:
    """One compatibility fix.

    Attributes:
        name: Short identifier, logged by the CLI.
        target: Key of the replaced object, ``"module:attribute"``.
        upstream: PaddleSeg issues / pull requests that report or fix the failure.
        is_needed: Probe; True when the stock object shows the failure.
        replacement: The object installed at ``target``.
    """

    name: str
    target: str
    upstream: str
    is_needed: Callable[[], bool]
    replacement: Callable


# --------------------------------------------------------------------------- helpers


def _module(name: str) -> types.ModuleType:
    """Returns the module object ``name``, never a same-named re-exported function.

    ``paddleseg.core.train`` is a module, but ``paddleseg.core`` re-exports the function
    ``train`` under the same name, so attribute access on the package yields the function;
    ``sys.modules`` holds the module.
    """
    __import__(name)
    return sys.modules[name]


def _split(key: str) -> Tuple[object, str]:
    """Resolves a key to (owner object, attribute name).

    Raises:
        ValueError: If ``key`` is not ``"module:attribute"`` or ``"module:Class.attribute"``.
    """
    module_name, sep, path = key.partition(":")
    if not sep or not path:
        raise ValueError(f"key {key!r} must look like 'module:attribute' or "
                         "'module:Class.method', e.g. 'paddleseg.utils.metrics:calculate_area'")
    owner: object = _module(module_name)
    *parents, attr = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    return owner, attr


def _current(key: str) -> object:
    owner, attr = _split(key)
    if isinstance(owner, type):
        return owner.__dict__[attr]  # the function itself, also for methods
    return getattr(owner, attr)


def original(key: str) -> object:
    """Returns the stock PaddleSeg object at ``key``, as it was before :func:`apply`.

    Args:
        key: ``"module:attribute"`` or ``"module:Class.method"``; the module constants
            (``CALCULATE_AREA``, ``LOSS_COMPUTATION``, ``CE_POST_PROCESS``, ``OHEM_FORWARD``)
            name the replaced ones.

    Returns:
        The stock object; if no fix replaced it, the current object.

    Raises:
        ValueError: If ``key`` is malformed.
    """
    if key in _ORIGINALS:
        return _ORIGINALS[key]
    return _current(key)


def is_patched(key: str) -> bool:
    """True when the object at ``key`` is one of this module's replacements."""
    return bool(getattr(_current(key), _MARKER, False))


def _install(key: str, new: Callable) -> None:
    """Puts ``new`` at ``key``, keeping the stock object in ``_ORIGINALS``."""
    if is_patched(key):
        return
    old = _current(key)
    _ORIGINALS.setdefault(key, old)
    setattr(new, _MARKER, True)
    owner, attr = _split(key)
    setattr(owner, attr, new)


def _fails(fn: Callable[[], object]) -> bool:
    """True when calling ``fn`` raises (a probe of stock behaviour on a tiny input)."""
    try:
        fn()
    except Exception:  # noqa: BLE001 - any failure of the stock code is what we detect
        return True
    return False


def _probe_logits() -> paddle.Tensor:
    return paddle.zeros([1, _PROBE_CLASSES, _PROBE_SIZE, _PROBE_SIZE], dtype="float32")


def _probe_labels() -> paddle.Tensor:
    return paddle.zeros([1, _PROBE_SIZE, _PROBE_SIZE], dtype="int64")


# ------------------------------------------------- fix 1: vectorised calculate_area


def calculate_area(pred: paddle.Tensor,
                   label: paddle.Tensor,
                   num_classes: int,
                   ignore_index: int = _DEFAULT_IGNORE_INDEX
                   ) -> Tuple[paddle.Tensor, paddle.Tensor, paddle.Tensor]:
    """Per-class intersection, prediction and label pixel counts, in three bincounts.

    Same contract as ``paddleseg.utils.metrics.calculate_area`` (2.8.0): a predicted pixel
    counts only where the label is not ``ignore_index``; the label area counts every label
    pixel whose value is a class id; values outside ``[0, num_classes)`` count nowhere.
    O(pixels) instead of the stock O(pixels x classes) loop, and it never concatenates 0-D
    tensors (the stock failure on Paddle >= 2.5, PaddleSeg #3408, #3556, #3373).

    Args:
        pred: Predicted class ids, integer, shape (N, H, W) or (N, 1, H, W).
        label: Ground-truth class ids, integer, same shape as ``pred``.
        num_classes: Number of classes C.
        ignore_index: Label value to ignore.

    Returns:
        (intersect_area, pred_area, label_area): int64 tensors of shape [C].

    Raises:
        ValueError: If ``num_classes`` is not positive, or ``pred`` and ``label`` differ in
            shape after dropping a channel axis.
    """
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


# ---------------------------------------- fix 2: 0-D losses in core.train's loss logging


class _MeanLoss(paddle.nn.Layer):
    """Probe loss returning what every stock loss returns: a full mean (0-D on Paddle 3)."""

    def forward(self, logits: paddle.Tensor, labels: paddle.Tensor) -> paddle.Tensor:
        return paddle.mean(logits)


def _probe_loss_logging(loss_computation: Callable, train_fn: Callable) -> bool:
    """True when ``train_fn`` would index ``l[0]`` of 0-D losses from ``loss_computation``.

    ``core.train.train`` (2.8.0) sums each loss as a numpy array and logs
    ``[l[0] / log_iters for l in avg_loss_list]``, which raises ``IndexError: too many
    indices for array: array is 0-dimensional`` (PaddleSeg #3373, #3520, #3616). Broken
    when the losses are 0-D *and* the train loop still indexes them (its source holds
    ``l[0]``; an unreadable source counts as still indexing).
    """
    losses = {"types": [_MeanLoss()], "coef": [1.0]}
    values = loss_computation(_probe_logits(), _probe_labels(), None, losses)
    if not any(value.ndim == 0 for value in values):
        return False
    try:
        return "l[0]" in inspect.getsource(train_fn)
    except (OSError, TypeError):
        return True


def _loss_computation_1d(logits_list: List[paddle.Tensor], labels: paddle.Tensor,
                         edges: Optional[paddle.Tensor], losses: dict) -> List[paddle.Tensor]:
    """Stock ``core.train.loss_computation`` with every 0-D loss reshaped to shape [1].

    Shape [1] keeps ``core.train.train``'s ``l[0]`` logging working (PaddleSeg #3373) as
    well as ``sum(loss_list)``, ``float(loss)``, ``loss.backward()`` and the AMP scaler.
    Models with their own ``loss_computation`` method (only MaskFormer in 2.8.0) bypass it.

    Args:
        logits_list: Model outputs, one per loss.
        labels: Class ids, int64, shape (N, H, W).
        edges: Edge labels for edge losses, or None.
        losses: ``{"types": [loss layers], "coef": [floats]}``.

    Returns:
        One shape-[1] float tensor per (mixed) loss term.
    """
    stock = original(LOSS_COMPUTATION)
    values = stock(logits_list, labels, edges, losses)
    return [value.reshape([1]) if value.ndim == 0 else value for value in values]


# ------------------------- fix 3: CrossEntropyLoss mixes int64 and float32 (type promotion)


def _probe_ce_post_process(post_process: Callable) -> bool:
    """True when ``post_process`` (a ``_post_process_loss``) fails with or without weight."""
    from paddleseg.models.losses import CrossEntropyLoss

    def run(weight: Optional[List[float]]) -> None:
        loss_fn = CrossEntropyLoss(weight=weight)
        logit = paddle.transpose(_probe_logits(), [0, 2, 3, 1])
        labels = _probe_labels()
        loss = F.cross_entropy(logit, labels, reduction="none", weight=loss_fn.weight)
        post_process(loss_fn, logit, labels, None, loss)

    return _fails(lambda: run(None)) or _fails(lambda: run([1.0] * _PROBE_CLASSES))


def _ce_post_process_loss(self, logit: paddle.Tensor, label: paddle.Tensor,
                          semantic_weights: Optional[paddle.Tensor],
                          loss: paddle.Tensor) -> paddle.Tensor:
    """Weighted mean of a per-pixel cross entropy, every operand in float32.

    Replaces ``CrossEntropyLoss._post_process_loss`` (also inherited by
    ``DistillCrossEntropyLoss``). The stock one multiplies the int64 label by a float32 mask
    (with ``weight``) and a float32 mask by ``ones_like(label)`` (int64, without), which
    Paddle type promotion rejects (PaddleSeg #3603; upstream PR #3731). Same value: the sum
    of ``loss * mask * semantic_weights`` over pixels divided by the sum of ``mask *
    class_weight[label]``; with ``top_k_percent_pixels < 1`` only the largest per-pixel
    losses count. When ``avg_non_ignore`` is False, ignored pixels count with weight 1 (the
    stock code would one-hot the out-of-range ignore label).

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


# ---------------------- fix 4: OhemCrossEntropyLoss mixes int64 masks and float probabilities


def _probe_ohem_forward(forward: Callable) -> bool:
    """True when ``forward`` fails on a tiny input that takes the hard-mining branch.

    Mining runs only when ``min_kept`` is below the number of valid pixels.
    """
    from paddleseg.models.losses import OhemCrossEntropyLoss
    loss_fn = OhemCrossEntropyLoss(min_kept=1)
    return _fails(lambda: forward(loss_fn, _probe_logits(), _probe_labels()))


def _ohem_forward(self, logit: paddle.Tensor, label: paddle.Tensor) -> paddle.Tensor:
    """Online hard example mining cross entropy, with boolean masks.

    Replaces ``OhemCrossEntropyLoss.forward``: the stock one adds an int64 mask to float
    probabilities (``prob + (1 - valid_mask)``), which Paddle type promotion rejects
    (PaddleSeg #3603; upstream PR #3731). Same rule: when more than ``min_kept`` (> 0)
    pixels are valid, keep only those whose true-class probability is below
    ``max(thresh, p_k)``, ``p_k`` being the ``min_kept``-th smallest such probability; the
    cross entropy is averaged over the kept pixels.

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


# ------------------------------------------------------------------------------ registry

_FIXES: Tuple[Fix, ...] = (
    Fix(name="metrics.calculate_area:vectorised",
        target=CALCULATE_AREA,
        upstream="PaddleSeg #3373, #3408, #3556 (0-D concat; upstream PR #3256/#3356); "
        "replaced always for speed at 1001 classes",
        is_needed=lambda: not is_patched(CALCULATE_AREA),
        replacement=calculate_area),
    Fix(name="core.train.loss_computation:0d-losses",
        target=LOSS_COMPUTATION,
        upstream="PaddleSeg #3373, #3520, #3616",
        is_needed=lambda: _probe_loss_logging(original(LOSS_COMPUTATION), original(TRAIN)),
        replacement=_loss_computation_1d),
    Fix(name="losses.CrossEntropyLoss._post_process_loss:type-promotion",
        target=CE_POST_PROCESS,
        upstream="PaddleSeg #3603 (upstream PR #3731)",
        is_needed=lambda: _probe_ce_post_process(original(CE_POST_PROCESS)),
        replacement=_ce_post_process_loss),
    Fix(name="losses.OhemCrossEntropyLoss.forward:type-promotion",
        target=OHEM_FORWARD,
        upstream="PaddleSeg #3603 (upstream PR #3731)",
        is_needed=lambda: _probe_ohem_forward(original(OHEM_FORWARD)),
        replacement=_ohem_forward),
    Fix(name="utils.train_profiler.add_profiler_step:paddle.profiler",
        target=PROFILER_STEP,
        upstream="PaddleSeg #3312 (develop moved it to paddle.profiler; 2.8.0 still calls the "
        "paddle.utils.profiler gone from Paddle 3.x)",
        is_needed=lambda: train_profiler.stock_is_broken(original(PROFILER_STEP)),
        replacement=train_profiler.add_profiler_step),
)


def apply() -> Tuple[str, ...]:
    """Installs every fix whose probe shows the failure; safe to call repeatedly.

    A probe that itself crashes (e.g. a future PaddleSeg renamed the patched function)
    skips its fix with a warning instead of breaking ``import paddleseg_pssl``.

    Returns:
        Names of all fixes installed so far (same as :func:`applied_fixes`).
    """
    for fix in _FIXES:
        if fix.name in _APPLIED:
            continue
        try:
            needed = fix.is_needed()
        except Exception as error:  # noqa: BLE001 - report, do not break the import
            warnings.warn(f"paddleseg_pssl.compat: fix {fix.name!r} skipped, its probe of "
                          f"{fix.target} failed: {error!r}")
            continue
        if needed:
            _install(fix.target, fix.replacement)
            _APPLIED.append(fix.name)
    return applied_fixes()


def applied_fixes() -> Tuple[str, ...]:
    """Names of the fixes :func:`apply` installed, in order (for the CLI to log)."""
    return tuple(_APPLIED)


def available_fixes() -> Tuple[Fix, ...]:
    """Every fix this module knows, installed or not, with its upstream reference."""
    return _FIXES
