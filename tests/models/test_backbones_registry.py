"""Every backbone the plugin registers in PaddleSeg's ``manager.BACKBONES``, built and run.

The list is read from the registry (every component defined in ``paddleseg_pssl``), so a new
backbone is tested without editing this file. For each: a forward on a tiny batch gives one
feature per ``feat_channels`` entry with that many channels and no NaN, and one backward
gives every trainable parameter a finite, non-zero gradient (the checks timm runs on its
models).
"""
import inspect
from typing import List

import numpy as np
import paddle
import pytest

import paddleseg_pssl  # noqa: F401  (registers the backbones)
from paddleseg.cvlibs import manager

PACKAGE = "paddleseg_pssl"

#: Two images, not one: batch norm in the attention branches sees 1x1 maps, and with one
#: image its statistics (and the gradient of its scale) would be degenerate.
INPUT_SHAPE = [2, 3, 64, 64]

#: The coarsest output stride, for backbones that take one: the same code, the least compute.
OUTPUT_STRIDE = 32


def plugin_backbones() -> List[str]:
    """Names in ``manager.BACKBONES`` whose component is defined in this package."""
    return sorted(name for name, component in manager.BACKBONES.components_dict.items()
                  if getattr(component, "__module__", "").split(".")[0] == PACKAGE)


def _build(name: str) -> paddle.nn.Layer:
    """The registered backbone with its defaults (a coarse output stride where it has one)."""
    paddle.seed(0)
    factory = manager.BACKBONES[name]
    if "output_stride" in inspect.signature(factory).parameters:
        return factory(output_stride=OUTPUT_STRIDE)
    return factory()


def test_the_plugin_registers_backbones():
    assert plugin_backbones(), f"no backbone of {PACKAGE} in manager.BACKBONES"


@pytest.mark.parametrize("name", plugin_backbones())
def test_forward_shapes_and_every_gradient(name):
    model = _build(name)
    model.train()
    feats = model(paddle.rand(INPUT_SHAPE))
    assert isinstance(model.feat_channels, (list, tuple)) and len(model.feat_channels) > 0
    assert len(feats) == len(model.feat_channels)
    batch, _, height, width = INPUT_SHAPE
    for index, (feat, channels) in enumerate(zip(feats, model.feat_channels)):
        assert feat.ndim == 4, f"{name} feature {index}: shape {feat.shape}"
        n, c, h, w = feat.shape
        assert (n, c) == (batch, channels), f"{name} feature {index}: shape {feat.shape}"
        assert 0 < h <= height and 0 < w <= width, f"{name} feature {index}: {feat.shape}"
        assert np.isfinite(feat.numpy()).all(), f"{name} feature {index} has NaN or inf"

    # A random projection of every feature: a plain sum or mean would leave the scale of a
    # batch norm that feeds an output with an exactly-zero gradient.
    rng = np.random.default_rng(0)
    loss = paddle.add_n([(f * paddle.to_tensor(rng.standard_normal(f.shape), "float32")).sum()
                         for f in feats])
    loss.backward()
    trainable = [(n, p) for n, p in model.named_parameters() if not p.stop_gradient]
    assert trainable, f"{name} has no trainable parameter"
    assert [n for n, p in trainable if p.grad is None] == []
    assert [n for n, p in trainable if not np.isfinite(p.grad.numpy()).all()] == []
    assert [n for n, p in trainable if not np.any(p.grad.numpy())] == []
