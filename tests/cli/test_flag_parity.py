"""Every flag of PaddleSeg 2.8's tools/train.py and tools/val.py is accepted and honoured.

Flags whose PaddleSeg behaviour cannot apply are refused before the run with one line.
"""
import pathlib
from typing import Any, Dict

import numpy as np
import pytest

import paddleseg_pssl  # noqa: F401
from paddleseg.cvlibs import Config

from paddleseg_pssl.cli import common
from paddleseg_pssl.cli import train as train_cli
from paddleseg_pssl.cli import val as val_cli
from paddleseg_pssl.training.config_loading import load_config
from paddleseg_pssl.datasets import PSSLDataset
from tests.datasets.pssl_fixtures import CLASSES, build_tree

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
FAST_CONFIG = REPO_ROOT / "tests" / "fixtures" / "configs" / "bisenetv2_tiny.yml"

#: The options of PaddleSeg 2.8.0's tools/train.py and tools/val.py (names only).
PADDLESEG_TRAIN_FLAGS = (
    "--config", "--device", "--save_dir", "--num_workers", "--do_eval", "--use_vdl",
    "--use_ema", "--resume_model", "--iters", "--batch_size", "--learning_rate",
    "--save_interval", "--log_iters", "--keep_checkpoint_max", "--seed", "--precision",
    "--amp_level", "--profiler_options", "--data_format", "--repeats", "--opts")
PADDLESEG_VAL_FLAGS = (
    "--config", "--model_path", "--num_workers", "--device", "--aug_eval", "--scales",
    "--flip_horizontal", "--flip_vertical", "--is_slide", "--crop_size", "--stride",
    "--data_format", "--auc_roc", "--opts")


@pytest.mark.parametrize("tool, flags", [(train_cli, PADDLESEG_TRAIN_FLAGS),
                                         (val_cli, PADDLESEG_VAL_FLAGS)], ids=["train", "val"])
def test_every_paddleseg_flag_is_accepted(tool, flags):
    known = {option for action in tool.build_parser()._actions
             for option in action.option_strings}
    assert sorted(set(flags) - known) == []


@pytest.mark.parametrize("text, expected", [([], True), (["False"], False), (["true"], True),
                                            (["0"], False)])
def test_auc_roc_reads_booleans(text, expected):
    args = val_cli.build_parser().parse_args(["--config", "c.yml", "--auc_roc", *text])
    assert args.auc_roc is expected


def test_nhwc_applies_to_deeplabv3p_and_is_refused_elsewhere(capsys, monkeypatch):
    dic: Dict[str, Any] = {"model": {"type": "DeepLabV3P", "backbone": {"type": "ResNet50_vd"}},
                           "loss": {"types": [{"type": "CrossEntropyLoss"}]}}
    common.apply_data_format(dic, "NHWC")
    assert dic["model"]["data_format"] == dic["model"]["backbone"]["data_format"] == \
        dic["loss"]["types"][0]["data_format"] == "NHWC"
    monkeypatch.chdir(REPO_ROOT)
    assert train_cli.main(["--config", str(FAST_CONFIG), "--device", "cpu",
                           "--data_format", "NHWC"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "only for DeepLabV3P" in err and "'BiSeNetV2'" in err


def test_train_passes_repeats_profiler_and_to_static_to_paddleseg(tmp_path, monkeypatch):
    config = tmp_path / "static.yml"
    config.write_text(f"_base_: {FAST_CONFIG}\nto_static_training: True\n")
    seen: Dict[str, Any] = {}

    def fake_train(model, train_dataset, **kwargs):
        seen.update(kwargs, samples=len(train_dataset))

    monkeypatch.chdir(REPO_ROOT)
    monkeypatch.setattr(train_cli, "train", fake_train)
    assert train_cli.main(["--config", str(config), "--device", "cpu", "--repeats", "3",
                           "--profiler_options", "batch_range=[1,2]"]) == 0
    assert seen["samples"] == 3 * 4  # 4 training images in the fixture
    assert seen["profiler_options"] == "batch_range=[1,2]"
    assert seen["to_static_training"] is True


def test_repeated_pssl_samples_keep_their_class(tmp_path):
    labels = {f"{CLASSES[0]}_0.JPEG": np.full((8, 12), 9, np.uint8),
              f"{CLASSES[2]}_0.JPEG": np.full((8, 12), 9, np.uint8)}
    dataset = PSSLDataset(transforms=[], **build_tree(tmp_path, labels))
    common.repeat_samples(dataset, 2)
    assert len(dataset) == 4
    assert [int(dataset[i]["label"].max()) for i in range(4)] == [0, 2, 0, 2]


@pytest.mark.parametrize("word", ["null", "~", "None", "NULL"])
def test_null_words_in_opts_mean_none(word, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    opts = [f"model.pretrained={word}"]
    assert load_config(FAST_CONFIG, opts).dic["model"]["pretrained"] is None
    assert Config(str(FAST_CONFIG), opts=opts).dic["model"]["pretrained"] is None  # PaddleSeg's


def test_predict_takes_paddleseg_names_for_images_and_output():
    from paddleseg_pssl.cli import predict as predict_cli

    args = predict_cli.build_parser().parse_args(
        "--config c.yml --model_path m --synsets s.txt --image_path a.jpg b/ --save_dir out"
        .split())
    assert (args.images, args.output) == (["a.jpg", "b/"], "out")
