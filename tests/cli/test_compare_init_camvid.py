"""tools/compare_init.py on the real CamVid copy (skipped where ../shared/data/camvid is absent)."""
import csv
import pathlib
import subprocess
import sys

import paddle
import pytest

import paddleseg_pssl  # noqa: F401  (registers MiniResNet)
from paddleseg.models import DeepLabV3

from paddleseg_pssl.models.backbones.mini_resnet import MiniResNet
from paddleseg_pssl.miniature.nets import mini_resnet

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / "configs" / "pssl" / "miniature" / "camvid_cpu.yml"
PRETRAIN_CLASSES = 5


@pytest.mark.camvid
@pytest.mark.slow
def test_conventional_and_pssl_init_side_by_side_on_camvid(camvid_root, tmp_path):
    classifier = tmp_path / "classifier.pdparams"
    paddle.save(mini_resnet(num_classes=PRETRAIN_CLASSES).state_dict(), str(classifier))
    pssl_model = DeepLabV3(num_classes=PRETRAIN_CLASSES + 1, backbone=MiniResNet(),
                           backbone_indices=[3], aspp_ratios=[1, 2, 3], aspp_out_channels=64)
    pssl_checkpoint = tmp_path / "pssl.pdparams"
    paddle.save(pssl_model.state_dict(), str(pssl_checkpoint))
    data = camvid_root / "CamVid"
    output = tmp_path / "compare"
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / "compare_init.py"), "--config", str(CONFIG),
         "--inits", "backbone", "pssl", "--seeds", "0", "--iters", "2", "--device", "cpu",
         "--backbone_pretrained", str(classifier), "--pssl_checkpoint", str(pssl_checkpoint),
         "--output", str(output), "--opts", f"train_dataset.dataset_root={data}",
         f"val_dataset.dataset_root={data}"],
        cwd=REPO_ROOT, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    with open(output / "comparison.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [row["init"] for row in rows] == ["backbone", "pssl"]
    assert all(0.0 <= float(row["miou"]) <= 1.0 for row in rows)
    assert "| pssl |" in (output / "comparison.md").read_text()
