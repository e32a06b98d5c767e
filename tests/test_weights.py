"""The one strict weights loader: the file and the keys named, partial loading explicit."""
import numpy as np
import paddle
import pytest

import paddleseg_pssl  # noqa: F401  (registers MiniResNet)
from paddleseg.models import DeepLabV3

from paddleseg_pssl.errors import PSSLConfigError
from paddleseg_pssl.models.backbones.mini_resnet import MiniResNet
from paddleseg_pssl.weights import load_weights


def small_model(num_classes: int = 4):
    return DeepLabV3(num_classes=num_classes, backbone=MiniResNet(), backbone_indices=[3],
                     aspp_ratios=[1, 2, 3], aspp_out_channels=16)


def test_strict_loader_loads_a_matching_checkpoint(tmp_path):
    paddle.seed(1)
    model = small_model()
    path = tmp_path / "model.pdparams"
    paddle.save(model.state_dict(), str(path))
    paddle.seed(2)
    fresh = small_model()
    fit = load_weights(fresh, str(path))
    assert not (fit.missing or fit.unexpected or fit.mismatched)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[name].numpy(), value.numpy())


def test_strict_loader_names_the_file_and_the_keys(tmp_path):
    path = tmp_path / "model.pdparams"
    state = small_model(num_classes=5).state_dict()
    state.pop(next(iter(state)))
    state["extra.weight"] = paddle.zeros([1])
    paddle.save(state, str(path))
    with pytest.raises(PSSLConfigError) as error:
        load_weights(small_model(), str(path))
    message = str(error.value)
    assert repr(str(path)) in message and "\n" not in message
    assert "1 parameters missing" in message and "shape mismatches" in message
    assert "extra.weight" in message


def test_partial_loading_is_explicit(tmp_path):
    paddle.seed(1)
    source = small_model(num_classes=5)
    path = tmp_path / "model.pdparams"
    paddle.save(source.state_dict(), str(path))
    target = small_model()
    fit = load_weights(target, str(path), partial=True)
    assert fit.mismatched and fit.loaded and not fit.missing
    key = fit.loaded[0]
    np.testing.assert_array_equal(target.state_dict()[key].numpy(),
                                  source.state_dict()[key].numpy())
    paddle.save({"other.weight": paddle.zeros([1])}, str(path))
    with pytest.raises(PSSLConfigError, match="do not fit"):
        load_weights(target, str(path), partial=True)


def test_unreadable_weights(tmp_path):
    path = tmp_path / "model.pdparams"
    path.write_text("not weights")
    with pytest.raises(PSSLConfigError, match="cannot read weights"):
        load_weights(small_model(), str(path))


def test_a_wrapped_state_dict_loads(tmp_path):
    """Weights saved as {'state_dict': ...} load like a bare state dict."""
    source = small_model()
    path = tmp_path / "wrapped.pdparams"
    paddle.save({"state_dict": source.state_dict()}, str(path))
    fit = load_weights(small_model(), str(path))
    assert not fit.missing and not fit.mismatched and fit.loaded
