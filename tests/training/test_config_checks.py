"""Tests for paddleseg_pssl.training.config_checks: unknown components, bad arguments and
missing paths fail before anything is built, with one clear line."""
import pytest

import paddleseg_pssl  # noqa: F401  (registers components)
from paddleseg_pssl.errors import PSSLConfigError
from paddleseg_pssl.training.config_checks import (close_matches, explain_build_errors,
                                                   registered_names, validate_components,
                                                   validate_paths)
from paddleseg_pssl.training.config_loading import load_config
from tests.training.config_fixtures import TINY, one_line, write_config


@pytest.mark.parametrize("body,pattern", [
    ("model:\n  type: PSPNett\n",
     r"model\.type: unknown component 'PSPNett'; expected a name registered in "
     r"paddleseg\.cvlibs\.manager\.MODELS \(close matches: PSPNet"),
    ("model:\n  backbone:\n    type: ResNet50vd\n",
     r"model\.backbone\.type: unknown component 'ResNet50vd'.*manager\.BACKBONES "
     r"\(close matches: ResNet50_vd"),
    ("train_dataset:\n  transforms:\n    - type: Normalise\n",
     r"train_dataset\.transforms\[0\]\.type: unknown component 'Normalise'.*TRANSFORMS "
     r"\(close matches: Normalize"),
    ("loss:\n  types:\n    - type: MixedLoss\n      losses:\n        - type: LovaszSoftmax\n"
     "      coef: [1]\n",
     r"loss\.types\[0\]\.losses\[0\]\.type: unknown component 'LovaszSoftmax'.*LOSSES "
     r"\(close matches: LovaszSoftmaxLoss"),
    ("train_dataset:\n  type: Datset\n",
     r"train_dataset\.type: unknown component 'Datset'.*DATASETS \(close matches: Dataset"),
    ("optimizer:\n  type: Momentun\n",
     r"optimizer\.type: unknown component 'Momentun'.*OPTIMIZERS \(close matches: Momentum"),
    ("lr_scheduler:\n  type: PolynomalDecay\n",
     r"lr_scheduler\.type: unknown scheduler 'PolynomalDecay'.*\(close matches: "
     r"PolynomialDecay"),
    ("model:\n  enable_auxilary_loss: False\n",
     r"model\.enable_auxilary_loss: PSPNet takes no argument 'enable_auxilary_loss' \(close "
     r"match: enable_auxiliary_loss\); expected one of num_classes, backbone"),
    ("lr_scheduler:\n  powr: 0.9\n",
     r"lr_scheduler\.powr: PolynomialDecay takes no argument 'powr' \(close match: power\)"),
])
def test_unknown_types_and_arguments(tmp_path, body, pattern):
    cfg = load_config(write_config(tmp_path, body))
    with pytest.raises(PSSLConfigError, match=pattern) as e:
        validate_components(cfg)
    message = one_line(e)
    assert "config.yml" in message


def test_optimizer_renames_follow_segbuilder(tmp_path):
    # SegBuilder turns sgd -> SGD and SGD + momentum -> Momentum; neither is an error.
    cfg = load_config(write_config(tmp_path, "optimizer:\n  type: sgd\n  momentum: 0.9\n"))
    validate_components(cfg)


def test_sections_limit_the_check(tmp_path):
    cfg = load_config(write_config(tmp_path, "optimizer:\n  type: Momentun\n"))
    validate_components(cfg, sections=("model", "val_dataset"))


def test_registry_helpers():
    assert "PSPNet" in registered_names("MODELS")
    assert "Normalize" in registered_names() and "ResNet50_vd" in registered_names()
    assert close_matches("pspnet", ["UNet", "PSPNet", "OCRNet"])[0] == "PSPNet"


def test_good_paths_pass(in_repo):
    validate_paths(load_config(TINY), datasets=("train_dataset", "val_dataset"))


@pytest.mark.parametrize("opts,pattern", [
    (["train_dataset.dataset_root=/no/such/dir"],
     r"train_dataset\.dataset_root '/no/such/dir' does not exist .*expected the dataset's root "
     r"directory.*with opts train_dataset\.dataset_root=<dir>"),
    (["train_dataset.train_path=/no/list.txt"],
     r"train_dataset\.train_path '/no/list\.txt' is not a file"),
    (["model={'type': 'BiSeNetV2', 'pretrained': 'gone/model.pdparams'}"],
     r"model\.pretrained 'gone/model\.pdparams' is not a file .*expected a local \.pdparams "
     r"file or a URL"),
])
def test_missing_paths(in_repo, opts, pattern):
    with pytest.raises(PSSLConfigError, match=pattern) as e:
        validate_paths(load_config(TINY, opts))
    one_line(e)


def test_only_requested_dataset_paths_are_checked(in_repo):
    cfg = load_config(TINY, ["val_dataset.dataset_root=/no/such/dir"])
    validate_paths(cfg, datasets=("train_dataset",))
    with pytest.raises(PSSLConfigError, match=r"val_dataset\.dataset_root"):
        validate_paths(cfg, datasets=("val_dataset",))


def test_empty_train_list(tmp_path, in_repo):
    empty = tmp_path / "train.txt"
    empty.write_text("\n")
    with pytest.raises(PSSLConfigError, match="is empty; expected one 'image label' pair"):
        validate_paths(load_config(TINY, [f"train_dataset.train_path={empty}"]))


def test_missing_dataset_section(tmp_path):
    cfg = load_config(TINY)
    del cfg.dic["val_dataset"]
    with pytest.raises(PSSLConfigError, match="has no val_dataset section"):
        validate_paths(cfg, datasets=("val_dataset",))


def test_self_downloading_dataset_root_may_be_absent(tmp_path):
    # OpticDiscSeg downloads itself into a dataset_root that does not exist yet.
    cfg = load_config(TINY)
    cfg.dic["train_dataset"] = {"type": "OpticDiscSeg", "dataset_root": str(tmp_path / "new"),
                                "mode": "train", "transforms": []}
    validate_paths(cfg)



def _fail_while_building(cause: Exception, component: str):
    """Raise ``cause``, then PaddleSeg's wrapper error while handling it (as its manager does)."""
    try:
        raise cause
    except type(cause):
        raise RuntimeError(f"Tried to create a {component} object")


def test_explain_build_errors_names_the_section():
    cfg = load_config(TINY)

    with pytest.raises(PSSLConfigError, match="building model failed: ResNet_vd.*'x'"):
        with explain_build_errors(cfg, "model"):
            _fail_while_building(
                TypeError("ResNet_vd.__init__() got an unexpected keyword argument 'x'"),
                "ResNet50_vd")
    with pytest.raises(PSSLConfigError, match="building train_dataset failed: pssl_root 'x'"):
        with explain_build_errors(cfg, "train_dataset"):
            _fail_while_building(PSSLConfigError("pssl_root 'x' has no train.txt"), "PSSLDataset")
    with pytest.raises(RuntimeError, match="unrelated"):
        with explain_build_errors(cfg, "model"):
            raise RuntimeError("unrelated")
