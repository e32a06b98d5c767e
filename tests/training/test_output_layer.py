"""A PSSL checkpoint initialises a downstream model without its output layer, whatever its shape.

The miniature's pre-training has 11 outputs (10 classes + background), as many as CamVid's
classes: PaddleSeg's loader, which skips only shapes that differ, would start the fine-tune from
a shape classifier's output layer. Built from a config, the model keeps its own initialisation
there; ``--model_path`` (evaluation, export) still loads everything.
"""
import numpy as np
import paddle
import pytest
from paddleseg.cvlibs import Config, SegBuilder
from paddleseg.utils import utils as seg_utils

import paddleseg_pssl  # noqa: F401
from paddleseg_pssl.training import output_layer
from tests.training.config_fixtures import FIXTURE_CONFIGS

#: Fixture config (PaddleSeg model-zoo layout, 3 classes) -> its output convolutions.
OUTPUT_LAYERS = {
    "pspnet_resnet50_vd_tiny.yml": ["head.auxlayer.conv", "head.conv"],
    "deeplabv3_resnet50_vd_tiny.yml": ["head.cls"],
    "ocrnet_hrnetw18_tiny.yml": ["head.aux_head.1", "head.cls_head"],
}
#: Smaller backbones of the same families, so that each build takes a moment.
SMALL_BACKBONES = {"pspnet_resnet50_vd_tiny.yml": "ResNet18_vd",
                   "deeplabv3_resnet50_vd_tiny.yml": "ResNet18_vd",
                   "ocrnet_hrnetw18_tiny.yml": "HRNet_W18_Small_V1"}


def _build(config_name, seed, pretrained=None):
    paddle.seed(seed)
    opts = [f"model.backbone.type={SMALL_BACKBONES[config_name]}"]
    opts += [f"model.pretrained={pretrained}"] if pretrained else []
    config = Config(str(FIXTURE_CONFIGS / config_name), opts=opts)
    return SegBuilder(config).model


def _arrays(model):
    return {key: value.numpy() for key, value in model.state_dict().items()}


def _under(key, layers):
    return any(key.startswith(layer + ".") for layer in layers)


@pytest.fixture(scope="module", params=sorted(OUTPUT_LAYERS))
def same_class_count_checkpoint(request, tmp_path_factory):
    """(config, checkpoint weights, path) of a model with the downstream model's class count."""
    pretrained = _build(request.param, seed=1)
    path = tmp_path_factory.mktemp("pssl") / "model.pdparams"
    paddle.save(pretrained.state_dict(), str(path))
    return request.param, _arrays(pretrained), str(path)


def test_output_layers_are_found_by_role(same_class_count_checkpoint):
    config_name, _, _ = same_class_count_checkpoint
    model = _build(config_name, seed=3)
    assert sorted(output_layer.output_layers(model, 3)) == OUTPUT_LAYERS[config_name]


def test_everything_but_the_output_layer_loads_when_class_counts_agree(
        same_class_count_checkpoint):
    config_name, checkpoint, path = same_class_count_checkpoint
    fresh = _arrays(_build(config_name, seed=2))
    finetuned = _arrays(_build(config_name, seed=2, pretrained=path))
    layers = OUTPUT_LAYERS[config_name]
    skipped = [key for key in finetuned if _under(key, layers)]
    assert len(skipped) == 2 * len(layers)  # weight and bias of each classifier
    for key, value in finetuned.items():
        source = fresh if key in skipped else checkpoint
        assert np.array_equal(value, source[key]), key


def test_model_path_loads_the_output_layer_too(same_class_count_checkpoint):
    config_name, checkpoint, path = same_class_count_checkpoint
    model = _build(config_name, seed=2)
    seg_utils.load_entire_model(model, path)  # what val.py, predict.py and export.py do
    for key, value in _arrays(model).items():
        assert np.array_equal(value, checkpoint[key]), key


def test_the_environment_switch_keeps_paddleseg_behaviour(same_class_count_checkpoint,
                                                         monkeypatch):
    config_name, checkpoint, path = same_class_count_checkpoint
    monkeypatch.setenv(output_layer.KEEP_ENV, "1")
    finetuned = _arrays(_build(config_name, seed=2, pretrained=path))
    for key, value in finetuned.items():
        assert np.array_equal(value, checkpoint[key]), key
