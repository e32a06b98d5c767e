"""A PSSL checkpoint (1000 classes + background) initialises a 21-class model.

Fine-tuning configs load the whole pre-trained model with ``model.pretrained``; only the
output layers, whose shape depends on the class count, may be left out. Everything else
(backbone, pyramid pooling, auxiliary-head trunk) must arrive, or PSSL init silently
degrades to a partial one.
"""
import numpy as np
import paddle

import paddleseg_pssl  # noqa: F401
from paddleseg.models import PSPNet
from paddleseg.models.backbones import ResNet18_vd

from paddleseg_pssl.constants import IMAGENET_NUM_CLASSES, segmentation_num_classes

DOWNSTREAM_CLASSES = 21


def test_every_non_output_weight_of_a_1001_class_checkpoint_loads(tmp_path):
    paddle.seed(1)
    pretrained = PSPNet(num_classes=segmentation_num_classes(IMAGENET_NUM_CLASSES),
                        backbone=ResNet18_vd(), enable_auxiliary_loss=True, pp_out_channels=64)
    checkpoint = tmp_path / "model.pdparams"
    paddle.save(pretrained.state_dict(), str(checkpoint))

    paddle.seed(2)  # a different random init, so "equal" can only come from loading
    finetuned = PSPNet(num_classes=DOWNSTREAM_CLASSES, backbone=ResNet18_vd(),
                       enable_auxiliary_loss=True, pp_out_channels=64,
                       pretrained=str(checkpoint))

    source = pretrained.state_dict()
    loaded, skipped = [], []
    for name, value in finetuned.state_dict().items():
        if list(value.shape) == list(source[name].shape):
            assert np.array_equal(value.numpy(), source[name].numpy()), name
            loaded.append(name)
        else:
            skipped.append(name)
    # Only the class-count-dependent output convs (main and auxiliary head) are skipped.
    assert sorted(skipped) == sorted(
        n for n in source if source[n].shape and source[n].shape[0] == 1001)
    assert len(skipped) == 4  # weight + bias of the main and the auxiliary classifier
    assert len(loaded) > 100
