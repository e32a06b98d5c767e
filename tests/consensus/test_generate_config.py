"""The generation config: _base_ inheritance, --opts overrides, errors naming the key."""
import pytest
import yaml

from paddleseg_pssl.consensus.run import config as cfg_mod
from paddleseg_pssl.consensus.run import generate_config as cfg_types
from paddleseg_pssl.consensus.run.generate_config import ConfigError


@pytest.fixture
def base(tmp_path):
    (tmp_path / "imgs" / "train" / "a").mkdir(parents=True)
    (tmp_path / "_base_").mkdir()
    (tmp_path / "_base_" / "b.yml").write_text(yaml.safe_dump({
        "images": {"root": str(tmp_path / "imgs"), "split": "train"},
        "output": str(tmp_path / "out"), "seed": 1,
        "resolution": {"short_side": 64}, "ensemble": [{"arch": "resnet18"}],
        "require_weights": False}))
    (tmp_path / "c.yml").write_text("_base_: _base_/b.yml\nseed: 2\n"
                                    "resolution: {max_long_side: 128}\n")
    return tmp_path


def test_base_merge_and_defaults(base):
    cfg = cfg_mod.load_config(str(base / "c.yml"))
    assert cfg.seed == 2
    assert cfg.resolution == cfg_types.ResolutionConfig(short_side=64, max_long_side=128)
    assert cfg.store.png_compression == 9 and cfg.max_failure_fraction == 0.01
    assert cfg.images.split == "train" and cfg.images.list is None


def test_opts_dotted_keys_lists_and_yaml_values(base):
    cfg = cfg_mod.load_config(str(base / "c.yml"), [
        "resolution.short_side=96", "ensemble.0.weights=null", "ensemble.0.arch=vgg16",
        "explainer.n_samples=4", "store.keep_float=true", "limit=5"],
        overrides={"output": str(base / "o2")})
    assert cfg.resolution.short_side == 96
    assert [(s.arch, s.weights) for s in cfg.ensemble] == [("vgg16", None)]
    assert cfg.explainer.n_samples == 4
    assert cfg.store.keep_float is True and cfg.limit == 5
    assert cfg.output == str(base / "o2")


@pytest.mark.parametrize("opts, key, match", [
    (["sed=3"], "sed", "did you mean 'seed'"),
    (["resolution.shortside=3"], "resolution.shortside", "did you mean 'short_side'"),
    (["resolution.short_side=16"], "resolution.short_side", ">= 32"),
    (["resolution.max_long_side=32"], "resolution.max_long_side", ">= 64"),
    (["seed=-1"], "seed", ">= 0"),
    (["seed=abc"], "seed", "integer"),
    (["max_failure_fraction=2"], "max_failure_fraction", r"\[0, 1\]"),
    (["store.png_compression=10"], "store.png_compression", "0..9"),
    (["store.keep_float=maybe"], "store.keep_float", "true or false"),
    (["images.root=/no/such/dir"], "images.root", "not a directory"),
    (["images.split=val"], "images.split", "not a directory"),
    (["images.synsets=/no/file.txt"], "images.synsets", "does not exist"),
    (["output=null"], "output", "required"),
    (["ensemble=null"], "ensemble", "required"),
    (["ensemble.3.arch=x"], "ensemble.3", "not valid for a list"),
    (["seed.x=1"], "seed.x", "cannot set a key"),
    (["noequals"], "noequals", "key=value"),
    (["consensus.normalisation=zscore"], "consensus.normalisation", "one of"),
    (["consensus.smoothing=-0.1"], "consensus.smoothing", r"\[0, 1\)"),
    (["consensus.smoothing=true"], "consensus.smoothing", "fraction"),
    (["consensus.normalisation=[minmax]"], "consensus.normalisation", "one of"),
    (["consensus.smooth=0.1"], "consensus.smooth", "did you mean 'smoothing'"),
])
def test_errors_name_the_key(base, opts, key, match):
    with pytest.raises(ConfigError, match=match) as err:
        cfg_mod.load_config(str(base / "c.yml"), opts)
    assert err.value.key == key
    assert f"config key {key!r}" in str(err.value)


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        cfg_mod.load_config(str(tmp_path / "none.yml"))
    (tmp_path / "bad.yml").write_text("a: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        cfg_mod.load_config(str(tmp_path / "bad.yml"))
    (tmp_path / "loop.yml").write_text("_base_: loop.yml\n")
    with pytest.raises(ConfigError, match="form a cycle"):
        cfg_mod.load_config(str(tmp_path / "loop.yml"))


def test_shipped_imagenet_config_loads(repo_root, tmp_path):
    (tmp_path / "train" / "n01440764").mkdir(parents=True)
    cfg = cfg_mod.load_config(str(repo_root / "configs/pssl/generate/imagenet_15_models.yml"),
                              [f"images.root={tmp_path}"])
    assert len(cfg.ensemble) == 15
    assert cfg.resolution.short_side == 224 and cfg.seed == 0
    # the explanation settings are the _base_'s, i.e. the code defaults
    from paddleseg_pssl.consensus.explain.engine_base import DEFAULT_AGGREGATION, DEFAULT_N_SAMPLES

    assert cfg.explainer.n_samples == DEFAULT_N_SAMPLES
    assert cfg.explainer.aggregation == DEFAULT_AGGREGATION
    assert cfg.consensus == cfg_types.ConsensusConfig()


def test_consensus_settings_default_and_override(base):
    from paddleseg_pssl.consensus import label_maths

    cfg = cfg_mod.load_config(str(base / "c.yml"))
    assert cfg.consensus == cfg_types.ConsensusConfig(label_maths.DEFAULT_NORMALISATION,
                                                      label_maths.DEFAULT_SMOOTHING)
    cfg = cfg_mod.load_config(str(base / "c.yml"), ["consensus.smoothing=0",
                                                    "consensus.normalisation=clip_p99"])
    assert cfg.consensus == cfg_types.ConsensusConfig("clip_p99", 0.0)


#: Keys the _base_ gives an example value for instead of the default (None: required).
REQUIRED_KEYS = {"images.root"}


def _flat(mapping, prefix=""):
    out = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_base_generation_config_shows_every_default(repo_root):
    """Every key of the typed config, the explainer's included, appears in _base_/generate.yml
    with the code's default (the required keys with an example value), and no other key."""
    raw = cfg_mod.load_yaml(str(repo_root / "configs/pssl/generate/_base_/generate.yml"))
    shown, declared = _flat(raw), _flat(cfg_types.defaults())
    assert sorted(shown) == sorted(declared)
    for key, value in declared.items():
        if key not in REQUIRED_KEYS:
            assert shown[key] == value, key
            assert type(shown[key]) is type(value), key


@pytest.mark.parametrize("opt, key", [("explainer.n_sampels=3", "explainer.n_sampels"),
                                      ("explainer.n_samples=0", "explainer"),
                                      ("explainer.engine=interpretdl", None),
                                      ("ensemble.0.wieghts=/w.pdparams", "ensemble[0]")])
def test_explainer_and_ensemble_are_checked_before_any_image_is_listed(base, opt, key):
    """A misspelt or bad explainer or ensemble key stops the run before the image tree (all of
    ImageNet) is listed: load_config reports it, and never lists images."""
    from unittest import mock

    from paddleseg_pssl.consensus.run import image_source

    with mock.patch.object(image_source, "build_image_source", side_effect=AssertionError):
        if key is None:
            assert cfg_mod.load_config(str(base / "c.yml"), [opt]).explainer.engine == "interpretdl"
            return
        with pytest.raises(ConfigError) as err:
            cfg_mod.load_config(str(base / "c.yml"), [opt])
    assert err.value.key == key


def test_a_config_on_the_base_must_name_its_output(repo_root, tmp_path):
    (tmp_path / "train").mkdir()
    config = tmp_path / "c.yml"
    config.write_text(f"_base_: {repo_root / 'configs/pssl/generate/_base_/generate.yml'}\n"
                      f"images: {{root: {tmp_path}}}\nensemble: [{{arch: resnet18}}]\n")
    with pytest.raises(ConfigError, match="'output': is required"):
        cfg_mod.load_config(str(config))

def test_subset_keys_per_class_or_fraction(base):
    """Label only part of a dataset, the same share of every class (images.per_class/fraction)."""
    cfg = cfg_mod.load_config(str(base / "c.yml"), ["images.per_class=39"])
    assert cfg_types.subset_spec(cfg.images).per_class == 39
    cfg = cfg_mod.load_config(str(base / "c.yml"), ["images.fraction=0.04"])
    assert cfg_types.subset_spec(cfg.images).fraction == 0.04
    assert cfg_types.subset_spec(cfg_mod.load_config(str(base / "c.yml")).images) is None


@pytest.mark.parametrize("opts, key", [
    (["images.per_class=0"], "images.per_class"),
    (["images.fraction=2"], "images.fraction"),
    (["images.fraction=1.5"], "images.fraction"),
    (["images.per_class=3", "images.fraction=0.5"], "images.per_class"),
])
def test_subset_errors_name_the_key(base, opts, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        cfg_mod.load_config(str(base / "c.yml"), opts)
