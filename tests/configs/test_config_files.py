"""Every YAML under configs/pssl/ builds through PaddleSeg's Config and our SegBuilder.

Data roots point at fake trees made in a temp dir and pretrained weights are switched off
(no downloads), so this checks what a user relies on: the inheritance resolves, every
component type is registered, the models size themselves from the data, and padding and
the losses use the dataset's ignore index.
"""
import pathlib

import numpy as np
import paddle
import pytest

import paddleseg_pssl  # noqa: F401  (registration)
from paddleseg.cvlibs import Config

from paddleseg_pssl.training.builder import PSSLSegBuilder
from tests.configs.fake_dataset_trees import WRITERS
from tests.datasets.pssl_fixtures import CLASSES, build_tree

CONFIG_ROOT = pathlib.Path(__file__).resolve().parents[2] / "configs" / "pssl"
PRETRAIN_CONFIGS = sorted(p for p in CONFIG_ROOT.glob("*.yml"))
FINETUNE_CONFIGS = sorted(p for p in (CONFIG_ROOT / "finetune").glob("*/*.yml")
                          if p.parent.name != "_base_")
NO_WEIGHTS = ["model.pretrained=None", "model.backbone.pretrained=None"]


def _has_output_layer(model, num_classes: int) -> bool:
    """Whether some 1x1/3x3 conv of the model emits ``num_classes`` channels (its classifier)."""
    return any(isinstance(layer, paddle.nn.Conv2D) and layer._out_channels == num_classes
               for layer in model.sublayers())


def _build_all(config: Config) -> PSSLSegBuilder:
    builder = PSSLSegBuilder(config)
    assert builder.model is not None
    assert len(builder.loss["types"]) >= 1
    assert builder.optimizer is not None
    assert len(builder.train_dataset) > 0
    return builder


def test_there_are_configs_for_every_paper_model_and_dataset():
    assert {p.stem for p in PRETRAIN_CONFIGS} == {
        "pspnet_r50", "deeplabv3_r50", "deeplabv3_resnest50", "ocrnet_hrnetw18",
        "pspnet_r50_60e"}
    assert len(FINETUNE_CONFIGS) == 5 * 4 * 2


@pytest.mark.parametrize("path", PRETRAIN_CONFIGS, ids=lambda p: p.stem)
def test_pretraining_config_builds_and_sizes_from_synsets(path, tmp_path):
    roots = build_tree(tmp_path, {f"{CLASSES[0]}_1.JPEG": np.full((4, 4), 9, np.uint8)})
    config = Config(str(path), opts=[f"train_dataset.imagenet_root={roots['imagenet_root']}",
                                     f"train_dataset.pssl_root={roots['pssl_root']}",
                                     *NO_WEIGHTS])
    builder = _build_all(config)
    expected_classes = len(CLASSES) + 1  # object classes + background
    assert config.dic["model"]["num_classes"] == expected_classes
    assert _has_output_layer(builder.model, expected_classes)
    ignore = builder.train_dataset.ignore_index
    assert all(loss.ignore_index == ignore for loss in builder.loss["types"])
    paddings = [t["label_padding_value"] for t in config.dic["train_dataset"]["transforms"]
                if "label_padding_value" in t]
    assert paddings and set(paddings) == {ignore}
    assert type(builder.loss["types"][0]).__name__ == "WeightedCrossEntropyLoss"


@pytest.mark.parametrize("path", FINETUNE_CONFIGS,
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_finetuning_config_builds_on_its_dataset_layout(path, tmp_path):
    data_root = tmp_path / "data"
    WRITERS[path.parent.name](data_root)
    config = Config(str(path), opts=[f"train_dataset.dataset_root={data_root}",
                                     f"val_dataset.dataset_root={data_root}", *NO_WEIGHTS])
    builder = _build_all(config)
    assert len(builder.val_dataset) > 0
    assert _has_output_layer(builder.model, builder.train_dataset.num_classes)


@pytest.mark.parametrize("path", [p for p in FINETUNE_CONFIGS if p.stem.endswith("_pssl")],
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_pssl_init_configs_load_a_whole_model_and_no_separate_backbone(path):
    config = Config(str(path))
    assert config.dic["model"]["pretrained"]
    assert config.dic["model"]["backbone"]["pretrained"] is None
