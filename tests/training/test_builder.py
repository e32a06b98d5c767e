"""Whatever builds the model (PSSLSegBuilder or PaddleSeg's own SegBuilder), PSSL data sizes it.

The model's outputs, the losses' ignore and background indices and the padding value of the
train transforms come from ``synsets.txt``; a config value that disagrees stops the build with
one line naming the key and the fix.
"""
import pathlib

import numpy as np
import paddle
import pytest
import yaml

import paddleseg_pssl  # noqa: F401  (installs the label-space builder)
from paddleseg.cvlibs import Config, SegBuilder

from paddleseg_pssl.training import builder as pssl_builder
from paddleseg_pssl.errors import PSSLConfigError
from paddleseg_pssl.compat.patching import is_patched
from paddleseg_pssl.training.builder import LabelSpaceMismatch, PSSLSegBuilder
from tests.fixtures.tiny_pssl_config import CROP, write_config

BUILDERS = [PSSLSegBuilder]  # PaddleSeg's own SegBuilder, patched by import paddleseg_pssl


def test_our_builder_is_paddleseg_s_own():
    assert PSSLSegBuilder is SegBuilder


def output_channels(model: paddle.nn.Layer) -> int:
    model.eval()
    return model(paddle.zeros([1, 3, CROP, CROP]))[0].shape[1]


@pytest.mark.parametrize("builder_class", BUILDERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("num_object_classes, ignore_index", [(1, 255), (10, 255), (1000, 1001)])
def test_model_loss_and_padding_come_from_the_data(builder_class, num_object_classes,
                                                   ignore_index, tmp_path):
    builder = builder_class(Config(write_config(tmp_path, num_object_classes)))
    num_classes = num_object_classes + 1
    assert output_channels(builder.model) == num_classes
    loss = builder.loss["types"][0]
    assert loss.ignore_index == ignore_index
    assert loss.resolve(num_classes) == (num_object_classes, ignore_index)  # background last
    weights = loss.class_weights(num_classes).numpy()
    assert weights[num_object_classes] == pytest.approx(0.1) and weights[:-1].min() == 1.0
    dataset = builder.train_dataset
    assert (dataset.num_classes, dataset.ignore_index) == (num_classes, ignore_index)
    crop = dataset.transforms.transforms[0]
    assert crop.label_padding_value == ignore_index
    label = dataset[0]["label"]
    assert set(np.unique(label)) <= {0, num_object_classes, ignore_index}
    assert ignore_index in label  # the 12 px image is padded to 16 with the ignore index


def test_plain_datasets_build_as_in_paddleseg(repo_root):
    config = Config(str(repo_root / "tests" / "fixtures" / "configs" / "bisenetv2_tiny.yml"))
    builder = SegBuilder(config)
    assert builder.label_space is None
    assert builder.loss["types"][0].ignore_index == 255
    assert is_patched(pssl_builder.INIT) and is_patched(pssl_builder.TRAIN)
    assert SegBuilder(config=None).label_space is None  # build_component-only use still works


@pytest.mark.parametrize("builder_class", BUILDERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("override, message", [
    ({"model": {"num_classes": 1001}}, "model.num_classes is 1001 but the train dataset has 11"),
    ({"loss": {"types": [{"type": "CrossEntropyLoss", "weight": [1.0] * 1000 + [0.1]}],
               "coef": [1]}}, "loss CrossEntropyLoss has 1001 class weights but"),
    ({"loss": {"types": [{"type": "CrossEntropyLoss", "ignore_index": 1001}], "coef": [1]}},
     "loss CrossEntropyLoss has ignore_index 1001 but"),
    ({"loss": {"types": [{"type": "WeightedCrossEntropyLoss", "background_index": 0}],
               "coef": [1]}}, "background_index 0 but"),
])
def test_disagreeing_config_stops_with_one_line(builder_class, override, message, tmp_path):
    path = write_config(tmp_path, 10)
    dic = yaml.safe_load(pathlib.Path(path).read_text())
    for key, value in override.items():
        dic[key] = {**dic.get(key, {}), **value} if key == "model" else value
    pathlib.Path(path).write_text(yaml.safe_dump(dic))
    with pytest.raises(LabelSpaceMismatch, match=message) as info:
        builder_class(Config(path))
    assert "\n" not in str(info.value)



@pytest.mark.parametrize("builder_class", BUILDERS, ids=lambda c: c.__name__)
def test_misspelt_dataset_key_is_named_before_the_data_is_read(builder_class, tmp_path,
                                                               monkeypatch):
    from paddleseg_pssl.datasets.pssl_dataset import PSSLDataset

    def reads_the_data(dataset_cfg):
        raise AssertionError(f"read {dataset_cfg.get('pssl_root')}")

    monkeypatch.setattr(PSSLDataset, "label_space_for_config", reads_the_data)
    config = Config(write_config(tmp_path, 10), opts=["train_dataset.pssl_rot=elsewhere"])
    with pytest.raises(PSSLConfigError, match=r"train_dataset\.pssl_rot: PSSLDataset takes no "
                                              r"argument 'pssl_rot' \(close match: pssl_root\)"):
        builder_class(config)


@pytest.mark.parametrize("builder_class", BUILDERS, ids=lambda c: c.__name__)
def test_missing_image_root_is_named_with_its_section_when_the_builder_starts(builder_class,
                                                                             tmp_path):
    config = Config(write_config(tmp_path, 10),
                    opts=[f"train_dataset.imagenet_root={tmp_path / 'none'}"])
    with pytest.raises(PSSLConfigError, match=r"train_dataset\.imagenet_root '.*none' does not "
                                              r"exist"):
        builder_class(config)

def test_paddleseg_style_padding_value_for_the_wrong_class_count_is_refused(tmp_path):
    path = write_config(tmp_path, 10)
    dic = yaml.safe_load(pathlib.Path(path).read_text())
    dic["train_dataset"]["transforms"][0]["label_padding_value"] = 1001
    pathlib.Path(path).write_text(yaml.safe_dump(dic))
    with pytest.raises(LabelSpaceMismatch, match=r"transforms\[0\] RandomPaddingCrop has "
                                                 r"label_padding_value 1001"):
        SegBuilder(Config(path))


def test_components_built_without_the_builder_are_checked_when_training_starts(tmp_path):
    from paddleseg.core import train
    from paddleseg.models.losses import CrossEntropyLoss

    builder = SegBuilder(Config(write_config(tmp_path, 10)))
    dataset = builder.train_dataset
    for losses, message in (
            ({"types": [CrossEntropyLoss(ignore_index=1001)], "coef": [1]},
             "loss CrossEntropyLoss has ignore_index 1001 but the train dataset has 11"),
            ({"types": [CrossEntropyLoss(weight=[1.0] * 1001)], "coef": [1]},
             "loss CrossEntropyLoss has 1001 class weights")):
        with pytest.raises(LabelSpaceMismatch, match=message):
            train(builder.model, dataset, optimizer=builder.optimizer, losses=losses,
                  save_dir=str(tmp_path / "out"), iters=1)
    assert not (tmp_path / "out").exists()


def test_a_train_dataset_smaller_than_one_batch_is_refused_instead_of_waiting_for_ever(
        tmp_path):
    from paddleseg.core import train

    with pytest.raises(PSSLConfigError, match="has 3 samples, 3 per process .* fewer than one "
                                              "batch \\(batch_size 4\\)"):
        train(None, [0, 1, 2], batch_size=4, save_dir=str(tmp_path / "out"), iters=1)
    assert not (tmp_path / "out").exists()
