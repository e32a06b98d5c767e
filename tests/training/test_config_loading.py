"""Tests for paddleseg_pssl.training.config_loading: bad configs fail early with one clear line."""
import pytest

import paddleseg_pssl  # noqa: F401  (registers components)
from paddleseg_pssl.errors import PSSLConfigError
from paddleseg_pssl.training.config_checks import validate_components, validate_paths
from paddleseg_pssl.training.config_loading import (PSSLConfig, check_checkpoint_file,
                                                    check_resume_dir, load_config)
from tests.training.config_fixtures import FIXTURE_CONFIGS, FIXTURE_FILES, TINY, TINY_BASE, one_line


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




def test_checkpoint_arguments(tmp_path):
    ckpt = tmp_path / "iter_2"
    ckpt.mkdir()
    with pytest.raises(PSSLConfigError, match="^model_path .* does not exist"):
        check_checkpoint_file(ckpt)
    (ckpt / "model.pdparams").write_bytes(b"")
    assert check_checkpoint_file(ckpt) == ckpt / "model.pdparams"
    assert check_checkpoint_file(ckpt / "model.pdparams") == ckpt / "model.pdparams"
    with pytest.raises(PSSLConfigError, match="^resume_model .* has no model.pdopt"):
        check_resume_dir(ckpt)
    (ckpt / "model.pdopt").write_bytes(b"")
    assert check_resume_dir(ckpt) == ckpt
    with pytest.raises(PSSLConfigError, match=r"does not end in _<iteration>"):
        check_resume_dir(tmp_path)
    with pytest.raises(PSSLConfigError, match="is not a directory"):
        check_resume_dir(tmp_path / "iter_9")

