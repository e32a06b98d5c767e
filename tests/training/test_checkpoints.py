"""The backbone of a PSSL checkpoint alone: a PSSL backbone with a random head (analysis init)."""
import numpy as np
import paddle
import pytest

import paddleseg_pssl  # noqa: F401  (registers MiniResNet)
from paddleseg.models import DeepLabV3

from paddleseg_pssl.training.checkpoints import write_backbone_weights
from paddleseg_pssl.training.comparison import init_overrides
from paddleseg_pssl.errors import PSSLConfigError
from paddleseg_pssl.models.backbones.mini_resnet import MiniResNet


def test_backbone_weights_load_into_a_fresh_backbone(tmp_path):
    paddle.seed(1)
    model = DeepLabV3(num_classes=4, backbone=MiniResNet(), backbone_indices=[3],
                      aspp_ratios=[1, 2, 3], aspp_out_channels=16)
    checkpoint = tmp_path / "model.pdparams"
    paddle.save(model.state_dict(), str(checkpoint))
    out = tmp_path / "backbone.pdparams"
    count = write_backbone_weights(str(checkpoint), str(out))
    assert count == len(model.backbone.state_dict())
    paddle.seed(2)
    fresh = MiniResNet(pretrained=str(out))
    fresh.init_weight()  # what the segmentation model calls on its backbone
    for name, value in model.backbone.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[name].numpy(), value.numpy())
    assert init_overrides("pssl_backbone", pssl_backbone=str(out)) == [
        "model.pretrained=None", f"model.backbone.pretrained={out}"]


def test_checkpoint_without_a_backbone_is_an_error(tmp_path):
    checkpoint = tmp_path / "model.pdparams"
    paddle.save({"head.weight": paddle.zeros([1])}, str(checkpoint))
    with pytest.raises(PSSLConfigError, match="no 'backbone.\\*' weights"):
        write_backbone_weights(str(checkpoint), str(tmp_path / "b.pdparams"))
