"""Benchmark: PaddleSeg's per-class ``calculate_area`` loop vs the vectorised bincount one.

PSSL (arXiv 2207.03335) evaluates 1001-class models (1000 ImageNet classes + background);
PaddleSeg 2.8.0's ``utils.metrics.calculate_area`` loops over the classes, six full-image
ops per class. ``paddleseg_pssl.compat.calculate_area`` counts all classes in three
bincounts. Both run on the same random prediction/label pair (with ignored pixels) at 21
(VOC) and 1001 (PSSL) classes, in one process, and the outputs are checked to be equal.

On Paddle >= 2.5 the stock function crashes (``paddle.concat`` of 0-D sums, PaddleSeg
#3408); it is then timed with the minimal fix only - the same loop, with ``paddle.concat``
of 0-D tensors turned into ``paddle.stack`` while it runs - and the table says so.

Usage::

    python benchmarks/bench_calculate_area.py [--size 512] [--repeats 3]
"""
import argparse
import contextlib
import sys
import time
from typing import Callable, Iterator, List, Sequence, Tuple

import numpy as np
import paddle

from paddleseg_pssl import compat
from paddleseg_pssl.constants import IGNORE_INDEX

#: Class counts compared: Pascal VOC and PSSL pre-training (ImageNet-1k + background).
CLASS_COUNTS: Tuple[int, ...] = (21, 1001)
#: Share of label pixels set to the ignore index.
IGNORED_FRACTION = 0.05
SEED = 0

Areas = Tuple[paddle.Tensor, paddle.Tensor, paddle.Tensor]


@contextlib.contextmanager
def zero_d_concat_as_stack() -> Iterator[None]:
    """While active, ``paddle.concat`` of a list of 0-D tensors stacks them instead.

    This is the minimal fix that makes the stock loop run on Paddle >= 2.5 without changing
    its algorithm, so that the loop itself can be timed.
    """
    concat = paddle.concat

    def concat_or_stack(x: Sequence[paddle.Tensor], axis: int = 0, name=None) -> paddle.Tensor:
        if len(x) > 0 and all(t.ndim == 0 for t in x):
            return paddle.stack(list(x))
        return concat(x, axis=axis, name=name)

    paddle.concat = concat_or_stack
    try:
        yield
    finally:
        paddle.concat = concat


def make_inputs(num_classes: int, size: int) -> Tuple[paddle.Tensor, paddle.Tensor]:
    """A (1, 1, size, size) int32 prediction and int64 label, some label pixels ignored."""
    rng = np.random.default_rng(SEED)
    label = rng.integers(0, num_classes, (1, 1, size, size))
    label[rng.random(label.shape) < IGNORED_FRACTION] = IGNORE_INDEX
    pred = rng.integers(0, num_classes, (1, 1, size, size))
    return paddle.to_tensor(pred.astype("int32")), paddle.to_tensor(label.astype("int64"))


def best_time(fn: Callable[[], Areas], repeats: int) -> Tuple[float, Areas]:
    """Best wall time of ``repeats`` calls (after one warm-up) and the last result."""
    result = fn()
    times: List[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        _ = [r.numpy() for r in result]  # force the computation
        times.append(time.perf_counter() - start)
    return min(times), result


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=512, help="image side in pixels")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per variant")
    args = parser.parse_args(list(argv))
    if args.size <= 0 or args.repeats <= 0:
        parser.error(f"--size and --repeats must be positive, got {args.size}, {args.repeats}")

    stock = compat.original(compat.CALCULATE_AREA)
    pred, label = make_inputs(CLASS_COUNTS[0], 2)
    try:
        stock(pred, label, CLASS_COUNTS[0], ignore_index=IGNORE_INDEX)
        stock_note = "stock loop, unmodified"
        guard = contextlib.nullcontext
    except Exception as error:  # noqa: BLE001 - the 0-D concat failure on Paddle >= 2.5
        stock_note = (f"stock loop crashes here ({type(error).__name__}); timed with the "
                      "minimal 0-D fix (concat of 0-D sums -> stack), same loop")
        guard = zero_d_concat_as_stack

    rows = []
    for num_classes in CLASS_COUNTS:
        pred, label = make_inputs(num_classes, args.size)
        with guard():
            t_stock, ref = best_time(
                lambda: stock(pred, label, num_classes, ignore_index=IGNORE_INDEX), args.repeats)
        t_vec, out = best_time(
            lambda: compat.calculate_area(pred, label, num_classes, ignore_index=IGNORE_INDEX),
            args.repeats)
        for name, a, b in zip(("intersect", "pred", "label"), ref, out):
            if not np.array_equal(a.numpy(), b.numpy()):
                raise AssertionError(f"{name}_area differs between stock and vectorised "
                                     f"at {num_classes} classes")
        rows.append((num_classes, t_stock, t_vec))

    print(f"calculate_area, 1 image of {args.size}x{args.size}, best of {args.repeats}, "
          f"paddle {paddle.__version__}, device {paddle.get_device()}")
    print(f"Stock: {stock_note}. Outputs identical.\n")
    print("| classes | stock loop (ms) | vectorised (ms) | speed-up |")
    print("|---:|---:|---:|---:|")
    for num_classes, t_stock, t_vec in rows:
        print(f"| {num_classes} | {t_stock * 1e3:.1f} | {t_vec * 1e3:.1f} | "
              f"{t_stock / t_vec:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
