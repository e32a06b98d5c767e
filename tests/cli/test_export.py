"""tools/export.py: PSSL checkpoints export with the class count of their data."""
import pathlib

import numpy as np
import paddle
import pytest
import yaml

import paddleseg_pssl  # noqa: F401
from paddleseg.cvlibs import Config

from paddleseg_pssl.training.builder import PSSLSegBuilder
from paddleseg_pssl.cli import export as export_cli
from tests.fixtures.tiny_finetune_config import write_camvid_style_config
from tests.fixtures.tiny_pssl_config import CROP, write_config


@pytest.fixture
def checkpoint(tmp_path: pathlib.Path):
    """A 10-class PSSL config and weights of its (untrained) model."""
    config = write_config(tmp_path / "data", 10)
    path = tmp_path / "iter_1" / "model.pdparams"
    path.parent.mkdir()
    paddle.save(PSSLSegBuilder(Config(config)).model.state_dict(), str(path))
    return config, path


@pytest.mark.parametrize("output_op, channels", [("none", 11), ("argmax", None)])
def test_export_writes_a_loadable_model_sized_from_the_data(checkpoint, output_op, channels,
                                                            tmp_path):
    config, weights = checkpoint
    out = tmp_path / "inference"
    assert export_cli.main(["--config", config, "--model_path", str(weights.parent),
                            "--save_dir", str(out), "--output_op", output_op]) == 0
    deploy = yaml.safe_load((out / export_cli.DEPLOY_FILE).read_text())["Deploy"]
    assert deploy["num_classes"] == 11 and deploy["transforms"] == [{"type": "Normalize"}]
    assert deploy["input_shape"] == [None, 3, None, None]
    model = paddle.jit.load(str(out / export_cli.MODEL_PREFIX))
    result = model(paddle.rand([1, 3, CROP, CROP]))
    output = (result[0] if isinstance(result, (list, tuple)) else result).numpy()
    if channels is None:
        assert output.shape == (1, CROP, CROP) and output.dtype == np.int32
        assert output.max() < 11
    else:
        assert output.shape == (1, channels, CROP, CROP)


def test_export_refuses_bad_input_in_one_line(checkpoint, tmp_path, capsys):
    config, weights = checkpoint
    assert export_cli.main(["--config", config, "--model_path", str(tmp_path / "none"),
                            "--save_dir", str(tmp_path / "o")]) == 2
    assert "--model_path" in capsys.readouterr().err
    assert export_cli.main(["--config", config, "--model_path", str(weights),
                            "--input_shape", "1", "1", "8", "8"]) == 2
    assert "C must be 3" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_fine_tuning_config_exports_with_its_val_transforms(tmp_path, monkeypatch, repo_root):
    monkeypatch.chdir(repo_root)
    config = str(repo_root / "tests" / "fixtures" / "configs" / "bisenetv2_tiny.yml")
    weights = tmp_path / "model.pdparams"
    paddle.save(PSSLSegBuilder(Config(config)).model.state_dict(), str(weights))
    out = tmp_path / "inference"
    assert export_cli.main(["--config", config, "--model_path", str(weights),
                            "--save_dir", str(out), "--input_shape", "1", "3", "32", "32"]) == 0
    deploy = yaml.safe_load((out / export_cli.DEPLOY_FILE).read_text())["Deploy"]
    assert deploy["transforms"] == Config(config).val_dataset_cfg["transforms"]
    assert (deploy["num_classes"], deploy["input_shape"]) == (3, [1, 3, 32, 32])
    result = paddle.jit.load(str(out / export_cli.MODEL_PREFIX))(paddle.rand([1, 3, 32, 32]))
    assert (result[0] if isinstance(result, (list, tuple)) else result).shape == [1, 32, 32]


def test_fine_tuning_deploy_yaml_names_the_dataset_class_count(tmp_path):
    from paddleseg_pssl.datasets.camvid import CamVid

    config = write_camvid_style_config(tmp_path)
    weights = tmp_path / "model.pdparams"
    paddle.save(PSSLSegBuilder(Config(config)).model.state_dict(), str(weights))
    out = tmp_path / "inference"
    assert export_cli.main(["--config", config, "--model_path", str(weights),
                            "--save_dir", str(out)]) == 0
    deploy = yaml.safe_load((out / export_cli.DEPLOY_FILE).read_text())["Deploy"]
    assert deploy["num_classes"] == CamVid.NUM_CLASSES
