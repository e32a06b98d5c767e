"""Tests for ``paddleseg_pssl.compat.deploy``: PaddleSeg's deploy.yaml and a predictor set up
as ``deploy/python/infer.py`` sets it up work on Paddle 3.3 CPU."""
import numpy as np
import paddle
import pytest
import yaml

import paddleseg_pssl  # noqa: F401  (applies the fixes)
from paddleseg.deploy.export import WrappedModel
from paddleseg.deploy.infer import DeployConfig

from paddleseg_pssl import plugin
from paddleseg_pssl.compat import deploy
from tests.compat.stack import NEEDS_STOCK, ON_0D_PADDLE, STOCK_28

#: Side of the test image; the model's classes.
SIDE = 16
CLASSES = 3


class _Segmenter(paddle.nn.Layer):
    """Logits at a quarter of the input side, upsampled bilinearly, as PaddleSeg models end."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = paddle.nn.Conv2D(3, CLASSES, 3, stride=4, padding=1)

    def forward(self, x: paddle.Tensor):
        return [paddle.nn.functional.interpolate(self.conv(x), size=x.shape[2:],
                                                 mode="bilinear")]


@pytest.fixture(scope="module")
def stock_export(tmp_path_factory):
    """(folder, model) saved as PaddleSeg 2.8's tools/export.py saves it: argmax output,
    ``deploy.yaml`` naming ``model.pdmodel``."""
    folder = tmp_path_factory.mktemp("inference_model")
    model = _Segmenter()
    model.eval()
    spec = [paddle.static.InputSpec([None, 3, None, None], "float32")]
    static = paddle.jit.to_static(WrappedModel(model, "argmax"), input_spec=spec)
    paddle.jit.save(static, str(folder / deploy.MODEL_PREFIX))
    (folder / "deploy.yaml").write_text(yaml.safe_dump({"Deploy": {
        "model": deploy.STOCK_GRAPH_FILE, "params": "model.pdiparams",
        "transforms": [{"type": "Normalize"}], "input_shape": [None, 3, None, None],
        "output_op": "argmax", "output_dtype": "int32"}}))
    return folder, model


def infer_py_predictor(deploy_yaml: str) -> paddle.inference.Predictor:
    """A CPU predictor configured as PaddleSeg 2.8's ``deploy/python/infer.py`` does."""
    cfg = DeployConfig(deploy_yaml)
    config = paddle.inference.Config(cfg.model, cfg.params)
    config.disable_glog_info()
    config.enable_memory_optim()
    config.switch_ir_optim(True)
    config.disable_gpu()
    return paddle.inference.create_predictor(config)


@pytest.mark.skipif(not (ON_0D_PADDLE and STOCK_28), reason=NEEDS_STOCK)
def test_probe_sees_the_three_failures_of_this_stack():
    assert deploy.probe() == {deploy.GRAPH_FIX_NAME: True, deploy.MEMORY_FIX_NAME: True,
                              deploy.ONEDNN_FIX_NAME: True}
    assert {deploy.GRAPH_FIX_NAME, deploy.MEMORY_FIX_NAME,
            deploy.ONEDNN_FIX_NAME} <= set(plugin.applied_fixes())


def test_deploy_config_names_the_graph_paddle_saved(stock_export):
    folder, _ = stock_export
    cfg = DeployConfig(str(folder / "deploy.yaml"))
    assert cfg.model == deploy.saved_graph_file(str(folder / deploy.MODEL_PREFIX))
    assert cfg.params == str(folder / "model.pdiparams")


def test_deploy_config_keeps_a_named_file_that_exists(tmp_path):
    (tmp_path / "other.pdmodel").write_text("")
    (tmp_path / "deploy.yaml").write_text(yaml.safe_dump(
        {"Deploy": {"model": "other.pdmodel", "params": "p", "transforms": []}}))
    assert DeployConfig(str(tmp_path / "deploy.yaml")).model == str(tmp_path / "other.pdmodel")


def test_infer_py_predictor_returns_the_models_class_map(stock_export):
    folder, model = stock_export
    image = np.random.default_rng(0).random([1, 3, SIDE, SIDE], dtype=np.float32)
    predictor = infer_py_predictor(str(folder / "deploy.yaml"))
    predictor.get_input_handle(predictor.get_input_names()[0]).copy_from_cpu(image)
    predictor.run()
    classes = predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()
    expected = paddle.argmax(model(paddle.to_tensor(image))[0], axis=1).numpy()
    np.testing.assert_array_equal(classes, expected)


def test_onednn_starts_off_and_can_still_be_switched_on():
    config = paddle.inference.Config()
    assert not config.mkldnn_enabled()
    config.enable_mkldnn()
    assert config.mkldnn_enabled()
    assert paddle.inference.Config(config).mkldnn_enabled()  # a copy keeps the setting
