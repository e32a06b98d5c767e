"""Tests for paddleseg_pssl.training.config_loading: bad configs fail early with one clear line."""
import pathlib
import textwrap

import pytest

import paddleseg_pssl  # noqa: F401  (registers components)
from paddleseg_pssl.training.config_loading import (PSSLConfig, check_checkpoint_file, check_resume_dir,
                                           close_matches, explain_build_errors, load_config,
                                           registered_names, validate_components,
                                           validate_paths)
from paddleseg_pssl.errors import PSSLConfigError

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURE_CONFIGS = REPO_ROOT / "tests" / "fixtures" / "configs"
TINY_BASE = FIXTURE_CONFIGS / "_base_" / "tiny_dataset.yml"
#: The smallest complete fixture config (the dataset base plus BiSeNetV2).
TINY = FIXTURE_CONFIGS / "bisenetv2_tiny.yml"
FIXTURE_FILES = [FIXTURE_CONFIGS / f"{name}_tiny.yml" for name in (
    "bisenetv2", "pspnet_resnet50_vd", "deeplabv3_resnet50_vd", "ocrnet_hrnetw18")]


@pytest.fixture
def in_repo(monkeypatch):
    """Run from the repository root, where the fixture configs' relative data paths hold."""
    monkeypatch.chdir(REPO_ROOT)


def write_config(tmp_path: pathlib.Path, body: str, name: str = "config.yml",
                 base: pathlib.Path = FIXTURE_CONFIGS / "pspnet_resnet50_vd_tiny.yml"
                 ) -> pathlib.Path:
    """A config in tmp_path inheriting ``base`` (absolute) with ``body`` on top."""
    path = tmp_path / name
    path.write_text(f"_base_: {base}\n" + textwrap.dedent(body), encoding="utf-8")
    return path


def one_line(exc_info) -> str:
    message = str(exc_info.value)
    assert "\n" not in message
    return message


def test_error_is_a_value_error():
    assert issubclass(PSSLConfigError, ValueError)


@pytest.mark.parametrize("config", FIXTURE_FILES, ids=lambda p: p.stem)
def test_fixture_configs_load_and_validate(config, in_repo):
    cfg = load_config(config)
    assert isinstance(cfg, PSSLConfig) and cfg.path == str(config)
    validate_components(cfg)
    validate_paths(cfg, datasets=("train_dataset", "val_dataset"))
    assert cfg.iters == 2 and cfg.dic["train_dataset"]["num_classes"] == 3


def test_overrides_and_opts_are_applied():
    cfg = load_config(TINY, ["train_dataset.num_classes=3", "model={'type': 'BiSeNetV2'}"],
                      learning_rate=0.5, batch_size=3, iters=7)
    assert (cfg.iters, cfg.batch_size) == (7, 3)
    assert cfg.dic["lr_scheduler"]["learning_rate"] == 0.5
    assert cfg.dic["model"]["type"] == "BiSeNetV2"


def test_missing_config(tmp_path):
    with pytest.raises(PSSLConfigError, match="does not exist; expected a PaddleSeg YAML") as e:
        load_config(tmp_path / "nope.yml")
    assert "nope.yml" in one_line(e)


@pytest.mark.parametrize("name", ["config.json", "dir.yml"])
def test_not_a_yaml_file(tmp_path, name):
    path = tmp_path / name
    if name.startswith("dir"):
        path.mkdir()
    else:
        path.write_text("{}")
    with pytest.raises(PSSLConfigError, match=r"is not a file|has suffix '\.json'"):
        load_config(path)


def test_yaml_that_does_not_parse_names_line(tmp_path):
    path = tmp_path / "broken.yml"
    path.write_text("batch_size: 2\nmodel: [a\n  b: c\n")
    with pytest.raises(PSSLConfigError, match=r"broken\.yml' is not valid YAML at line 3") as e:
        load_config(path)
    one_line(e)


@pytest.mark.parametrize("text,found", [("", "empty"), ("- a\n- b\n", "a list")])
def test_yaml_that_is_not_a_mapping(tmp_path, text, found):
    path = tmp_path / "odd.yml"
    path.write_text(text)
    with pytest.raises(PSSLConfigError, match=f"is {found}; expected a YAML mapping"):
        load_config(path)


def test_missing_base_names_both_files(tmp_path):
    path = tmp_path / "child.yml"
    path.write_text("_base_: ../gone/base.yml\n")
    with pytest.raises(PSSLConfigError, match=r"base\.yml' \(listed in _base_ of .*child\.yml"
                                              r"'\) does not exist"):
        load_config(path)


def test_broken_base_is_reported(tmp_path):
    (tmp_path / "base.yml").write_text("a: {b\n")
    path = tmp_path / "child.yml"
    path.write_text("_base_: base.yml\n")
    with pytest.raises(PSSLConfigError, match=r"base\.yml' is not valid YAML"):
        load_config(path)


def test_base_cycle(tmp_path):
    (tmp_path / "a.yml").write_text("_base_: b.yml\n")
    (tmp_path / "b.yml").write_text("_base_: a.yml\n")
    with pytest.raises(PSSLConfigError, match="form a cycle"):
        load_config(tmp_path / "a.yml")


@pytest.mark.parametrize("item,pattern", [
    ("batch_size", "expected key=value with exactly one '='"),
    ("a=b=c", "expected key=value with exactly one '='"),
    ("trian_dataset.mode=val", r"no key 'trian_dataset' under the top level \(close matches: "
                               r"train_dataset"),
    ("model.type.x=1", r"model\.type in config .* is not a mapping"),
])
def test_bad_opts(item, pattern):
    with pytest.raises(PSSLConfigError, match=pattern):
        load_config(FIXTURE_CONFIGS / "pspnet_resnet50_vd_tiny.yml", [item])


def test_bad_numeric_override():
    with pytest.raises(PSSLConfigError, match="iters=0 .* expected a positive number"):
        load_config(TINY, iters=0)


def test_learning_rate_without_scheduler(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text("batch_size: 1\n")
    with pytest.raises(PSSLConfigError, match="has no lr_scheduler section"):
        load_config(path, learning_rate=0.1)


def test_paddleseg_rule_failure_is_one_line(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text(TINY_BASE.read_text().replace("optimizer:", "optimiser:"))
    with pytest.raises(PSSLConfigError, match="DefaultPrimaryRule check: No optimizer") as e:
        load_config(path)
    one_line(e)


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
     r"directory.*--opts train_dataset\.dataset_root=<dir>"),
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


def test_checkpoint_arguments(tmp_path):
    ckpt = tmp_path / "iter_2"
    ckpt.mkdir()
    with pytest.raises(PSSLConfigError, match="--model_path .* does not exist"):
        check_checkpoint_file(ckpt)
    (ckpt / "model.pdparams").write_bytes(b"")
    assert check_checkpoint_file(ckpt) == ckpt / "model.pdparams"
    assert check_checkpoint_file(ckpt / "model.pdparams") == ckpt / "model.pdparams"
    with pytest.raises(PSSLConfigError, match="has no model.pdopt"):
        check_resume_dir(ckpt)
    (ckpt / "model.pdopt").write_bytes(b"")
    assert check_resume_dir(ckpt) == ckpt
    with pytest.raises(PSSLConfigError, match=r"does not end in _<iteration>"):
        check_resume_dir(tmp_path)
    with pytest.raises(PSSLConfigError, match="is not a directory"):
        check_resume_dir(tmp_path / "iter_9")


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
