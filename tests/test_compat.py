"""Tests for ``paddleseg_pssl.compat``: PaddleSeg 2.8.0's stock engine on Paddle 3.x.

Every test calls PaddleSeg through its own public names (``paddleseg.utils.metrics``,
``sys.modules['paddleseg.core.train']``, ``paddleseg.models.losses``, ``paddleseg.core``), so
that with ``compat.apply()`` a no-op each of them fails on this stack. Values are compared
with hand-computed examples and with numpy references of the stock semantics. The last
tests run a tiny train + evaluate + resume for PSPNet, DeepLabV3 and OCRNet.
"""
import os
import sys
import warnings

import cv2
import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

import paddleseg_pssl  # noqa: F401  (applies the fixes)
from paddleseg_pssl import compat

import paddleseg
import paddleseg.utils.metrics as metrics
from paddleseg.models import backbones
from paddleseg.models import losses as seg_losses

FIXTURE_CONFIG = os.path.join(os.path.dirname(__file__), "fixtures", "configs",
                              "compat_tiny_pspnet.yml")
IGNORE = 255
NUM_CLASSES = 3
IMAGE_SIZE = 64
NUM_IMAGES = 4
NUM_VAL_IMAGES = 2
IGNORED_ROWS = 4
ON_0D_PADDLE = paddle.sum(paddle.ones([2])).ndim == 0
STOCK_28 = paddleseg.__version__ == "2.8.0"


def train_module():
    """``paddleseg.core.train`` the module (the package attribute is the function)."""
    return sys.modules["paddleseg.core.train"]


# ------------------------------------------------------------------ registry and apply()


def test_apply_is_idempotent():
    before = compat.applied_fixes()
    objects = [compat._current(fix.target) for fix in compat.available_fixes()]
    assert compat.apply() == before
    assert compat.apply() == before
    assert [compat._current(fix.target) for fix in compat.available_fixes()] == objects


def test_applied_fixes_are_installed_and_named():
    applied = compat.applied_fixes()
    assert len(set(applied)) == len(applied)
    for fix in compat.available_fixes():
        assert compat.is_patched(fix.target) == (fix.name in applied), fix.name
        assert fix.upstream and "PaddleSeg #" in fix.upstream


@pytest.mark.skipif(not (ON_0D_PADDLE and STOCK_28), reason="needs PaddleSeg 2.8.0 on Paddle 3")
def test_every_fix_is_needed_on_this_stack():
    assert set(compat.applied_fixes()) == {fix.name for fix in compat.available_fixes()}


@pytest.mark.skipif(not (ON_0D_PADDLE and STOCK_28), reason="needs PaddleSeg 2.8.0 on Paddle 3")
def test_probes_detect_the_stock_failures():
    stock_train = compat.original(compat.TRAIN)
    assert compat._probe_loss_logging(compat.original(compat.LOSS_COMPUTATION), stock_train)
    assert compat._probe_ce_post_process(compat.original(compat.CE_POST_PROCESS))
    assert compat._probe_ohem_forward(compat.original(compat.OHEM_FORWARD))


def test_probes_step_aside_for_working_code():
    assert not compat._probe_ce_post_process(compat._ce_post_process_loss)
    assert not compat._probe_ohem_forward(compat._ohem_forward)
    assert not compat._probe_loss_logging(compat._loss_computation_1d,
                                          compat.original(compat.TRAIN))

    def train_without_indexing(loss_list):
        return [float(value) for value in loss_list]

    assert not compat._probe_loss_logging(compat.original(compat.LOSS_COMPUTATION),
                                          train_without_indexing)


def test_apply_skips_a_crashing_probe_with_a_warning(monkeypatch):
    def crash():
        raise AttributeError("renamed upstream")

    broken = compat.Fix(name="test:crashing-probe", target=compat.CALCULATE_AREA,
                        upstream="none", is_needed=crash, replacement=compat.calculate_area)
    monkeypatch.setattr(compat, "_FIXES", compat._FIXES + (broken, ))
    with pytest.warns(UserWarning, match="crashing-probe"):
        applied = compat.apply()
    assert "test:crashing-probe" not in applied


def test_original_rejects_a_malformed_key():
    with pytest.raises(ValueError, match="module:attribute"):
        compat.original("paddleseg.utils.metrics.calculate_area")


# ------------------------------------------------------------------------ calculate_area


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


@pytest.mark.skipif(not (ON_0D_PADDLE and STOCK_28), reason="needs PaddleSeg 2.8.0 on Paddle 3")
def test_stock_calculate_area_crashes_here():
    """Why the fix exists: the stock loop concatenates 0-D sums (PaddleSeg #3408)."""
    stock = compat.original(compat.CALCULATE_AREA)
    with pytest.raises(ValueError):
        stock(paddle.zeros([1, 2, 2], "int32"), paddle.zeros([1, 2, 2], "int64"), 2)


# ---------------------------------------------------------------------- loss_computation


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


# ------------------------------------------------------------------------------ losses


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


# --------------------------------------------------------- end to end: train, eval, resume


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    """4 random 64x64 images with 3-class labels, the top rows ignored; train and val lists."""
    root = tmp_path_factory.mktemp("tiny_seg")
    rng = np.random.default_rng(0)
    lines = []
    for i in range(NUM_IMAGES):
        image = rng.integers(0, 256, (IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
        label = rng.integers(0, NUM_CLASSES, (IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
        label[:IGNORED_ROWS] = IGNORE
        cv2.imwrite(str(root / f"image_{i}.png"), image)
        cv2.imwrite(str(root / f"label_{i}.png"), label)
        lines.append(f"image_{i}.png label_{i}.png")
    (root / "train.txt").write_text("\n".join(lines) + "\n")
    (root / "val.txt").write_text("\n".join(lines[:NUM_VAL_IMAGES]) + "\n")
    return root


def build_from_fixture_config(root):
    """PSPNet-ResNet50_vd from the YAML fixture (MixedLoss CE+Lovasz, OHEM auxiliary)."""
    from paddleseg.cvlibs import Config, SegBuilder
    cfg = Config(FIXTURE_CONFIG, opts=[
        f"train_dataset.dataset_root={root}", f"train_dataset.train_path={root / 'train.txt'}",
        f"val_dataset.dataset_root={root}", f"val_dataset.val_path={root / 'val.txt'}"])
    builder = SegBuilder(cfg)
    return builder.model, builder.optimizer, builder.loss, builder.train_dataset, \
        builder.val_dataset


def build_by_hand(arch, root):
    import paddleseg.transforms as T
    from paddleseg.datasets import Dataset
    from paddleseg.models import DeepLabV3, OCRNet
    train_ds = Dataset("train", str(root), [T.Normalize()], NUM_CLASSES,
                       train_path=str(root / "train.txt"))
    val_ds = Dataset("val", str(root), [T.Normalize()], NUM_CLASSES,
                     val_path=str(root / "val.txt"))
    if arch == "deeplabv3":  # zoo: deeplabv3_resnet50_os8_*: one head, CrossEntropyLoss
        model = DeepLabV3(NUM_CLASSES, backbones.ResNet50_vd(output_stride=8),
                          backbone_indices=(3, ), aspp_ratios=(1, 12, 24, 36))
        losses = {"types": [seg_losses.CrossEntropyLoss(weight=[0.1, 1.0, 1.0])], "coef": [1]}
    else:  # zoo: ocrnet_hrnetw18_*: main + auxiliary head, coef [1, 0.4]
        model = OCRNet(NUM_CLASSES, backbones.HRNet_W18(), backbone_indices=(0, ))
        mixed = seg_losses.MixedLoss([seg_losses.CrossEntropyLoss(),
                                      seg_losses.LovaszSoftmaxLoss()], [0.8, 0.2])
        losses = {"types": [mixed, seg_losses.OhemCrossEntropyLoss(min_kept=100)],
                  "coef": [1, 0.4]}
    lr = paddle.optimizer.lr.PolynomialDecay(0.01, decay_steps=3, end_lr=0)
    optimizer = paddle.optimizer.Momentum(lr, parameters=model.parameters(),
                                          weight_decay=4e-5)
    return model, optimizer, losses, train_ds, val_ds


E2E_CASES = {
    "pspnet": dict(precision="fp32", test_config=dict(aug_eval=True, scales=[0.75, 1.0],
                                                      flip_horizontal=True)),
    "deeplabv3": dict(precision="fp16", test_config=dict(aug_eval=True, scales=[1.0],
                                                         flip_horizontal=True,
                                                         flip_vertical=True)),
    "ocrnet": dict(precision="fp16", test_config=dict(is_slide=True, crop_size=(48, 48),
                                                      stride=(32, 32))),
}


@pytest.mark.parametrize("arch", sorted(E2E_CASES))
def test_train_evaluate_resume(arch, tiny_dataset, tmp_path):
    from paddleseg.core import evaluate, train
    from paddleseg.utils import load_entire_model
    case = E2E_CASES[arch]
    save_dir = str(tmp_path / "out")

    def build():
        if arch == "pspnet":
            return build_from_fixture_config(tiny_dataset)
        return build_by_hand(arch, tiny_dataset)

    def run(iters, resume_model=None):
        # Each run names its parameters and optimizer accumulators afresh, as a new process
        # would; the optimizer checkpoint is keyed by those names.
        with paddle.utils.unique_name.guard():
            paddle.seed(0)
            model, optimizer, losses, train_ds, val_ds = build()
            train(model, train_ds, val_ds, optimizer, save_dir=save_dir, iters=iters,
                  batch_size=2, resume_model=resume_model, save_interval=2, log_iters=1,
                  losses=losses, precision=case["precision"],
                  test_config=dict(case["test_config"]))
        return model, val_ds

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run(iters=2)
        for name in ("model.pdparams", "model.pdopt"):
            assert os.path.isfile(os.path.join(save_dir, "iter_2", name))
        assert os.path.isfile(os.path.join(save_dir, "best_model", "model.pdparams"))

        model, val_ds = run(iters=3, resume_model=os.path.join(save_dir, "iter_2"))
        assert os.path.isfile(os.path.join(save_dir, "iter_3", "model.pdparams"))

        load_entire_model(model, os.path.join(save_dir, "iter_3", "model.pdparams"))
        miou, acc, class_iou, _, _ = evaluate(model, val_ds, precision=case["precision"],
                                              print_detail=False, **case["test_config"])
    assert 0.0 <= miou <= 1.0 and 0.0 <= acc <= 1.0
    assert class_iou.shape == (NUM_CLASSES, )


# ------------------------------------------- --profiler_options on paddle.profiler


def test_profiler_step_profiles_the_batch_range_and_writes_profile_path(tmp_path):
    """PaddleSeg's own add_profiler_step (as core.train calls it) runs and writes the trace."""
    from paddleseg.utils import train_profiler as stock_profiler

    from paddleseg_pssl import train_profiler

    path = tmp_path / "trace" / "profile.json"
    options = f"batch_range=[1,3];profile_path={path};exit_on_finished=false"
    train_profiler.reset()
    try:
        for _ in range(5):
            paddle.matmul(paddle.ones([2, 2]), paddle.ones([2, 2]))
            stock_profiler.add_profiler_step(options)
        assert path.is_file() and path.stat().st_size > 0
    finally:
        train_profiler.reset()


def test_profiler_step_ends_the_process_when_exit_on_finished(tmp_path):
    from paddleseg.utils import train_profiler as stock_profiler

    from paddleseg_pssl import train_profiler

    train_profiler.reset()
    try:
        with pytest.raises(SystemExit) as stopped:
            for _ in range(3):
                stock_profiler.add_profiler_step(
                    f"batch_range=[0,1];profile_path={tmp_path / 'p.json'}")
        assert stopped.value.code == 0
    finally:
        train_profiler.reset()
