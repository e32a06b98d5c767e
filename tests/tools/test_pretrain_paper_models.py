"""A 2-iteration PSSL pre-training run of each paper model through ``tools/train.py``.

The shipped configs run unchanged except for the data roots, the iteration count, the batch
and the (offline-unreachable) ImageNet backbone URLs; the PSSL fixture has 3 classes, so the
models are built with 4 outputs (3 + background) from its synsets.txt.
"""
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from tests.datasets.pssl_fixtures import CLASSES, build_tree

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
PAPER_PRETRAIN_CONFIGS = ["pspnet_r50", "deeplabv3_resnest50", "ocrnet_hrnetw18"]
ITERS = 2


@pytest.fixture(scope="module")
def pssl_fixture(tmp_path_factory):
    rng = np.random.default_rng(0)
    labels = {f"{name}_{i}.JPEG": rng.integers(0, 10, (12, 16), dtype=np.uint8)
              for name in CLASSES for i in range(2)}
    return build_tree(tmp_path_factory.mktemp("pssl"), labels, image_size=(48, 64))


@pytest.mark.slow
@pytest.mark.parametrize("name", PAPER_PRETRAIN_CONFIGS)
def test_two_iteration_pretraining_saves_a_checkpoint(name, pssl_fixture, tmp_path):
    save_dir = tmp_path / "out"
    command = [sys.executable, str(REPO_ROOT / "tools" / "train.py"),
               "--config", str(REPO_ROOT / "configs" / "pssl" / f"{name}.yml"),
               "--iters", str(ITERS), "--batch_size", "2", "--save_interval", str(ITERS),
               "--device", "cpu", "--save_dir", str(save_dir), "--opts",
               f"train_dataset.imagenet_root={pssl_fixture['imagenet_root']}",
               f"train_dataset.pssl_root={pssl_fixture['pssl_root']}",
               "model.backbone.pretrained=None", f"lr_scheduler.milestones=[{ITERS}]"]
    completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    checkpoint = save_dir / f"iter_{ITERS}" / "model.pdparams"
    assert checkpoint.is_file()
    import paddle
    state = paddle.load(str(checkpoint))
    output_channels = {tuple(v.shape)[0] for k, v in state.items() if k.endswith("weight")}
    assert len(CLASSES) + 1 in output_channels
