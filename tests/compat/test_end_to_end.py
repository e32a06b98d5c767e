"""PaddleSeg's stock engine with the compat fixes: a tiny train + evaluate + resume for PSPNet,
DeepLabV3 and OCRNet (the 0-D, type-promotion and metric fixes together).
"""
import os
import warnings

import cv2
import numpy as np
import paddle
import pytest

import paddleseg_pssl  # noqa: F401  (applies the fixes)

from paddleseg.models import backbones
from paddleseg.models import losses as seg_losses
from tests.compat.stack import IGNORE, NUM_CLASSES

FIXTURE_CONFIG = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures",
                              "configs", "compat_tiny_pspnet.yml")
IMAGE_SIZE = 64
NUM_IMAGES = 4
NUM_VAL_IMAGES = 2
IGNORED_ROWS = 4


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
