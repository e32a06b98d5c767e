"""The generation config of ``tools/generate_pssl.py`` (PSSL, arXiv 2207.03335, Section 3).

A YAML file (``_base_`` inheritance as in PaddleSeg: the child's keys override the base's,
mappings merge key by key, lists are replaced)::

    _base_: _base_/generate.yml      # optional, relative to this file
    images:
      root: data/ImageNet            # the image root (relative paths: to the working directory)
      split: train                   # folder input: <root>/<split>/<class>/<image>
      list: null                     # or a file of '<path relative to root> <class>' lines
      synsets: null                  # class list fixing class ids (default: sorted class names)
      per_class: null                # label only N images of each class (seeded by `seed`)
      fraction: null                 # or the same fraction (0, 1] of every class
    output: output/pssl_imagenet     # the PSSL root
    seed: 0                          # per-image noise seed = sha256(seed, image relpath, model)
    resolution:
      short_side: 224                # explanation and label resolution, aspect kept
      max_long_side: null            # cap of the long side (default 4 x short_side)
    explainer: {...}                 # see paddleseg_pssl.consensus.engines
    consensus:
      normalisation: minmax          # per-model normalisation before Eq. 1 (label_maths)
      smoothing: 0.04                # per-model Gaussian sigma, fraction of the short side
    ensemble: [...]                  # see paddleseg_pssl.consensus.ensemble
    require_weights: true            # refuse classifiers with neither weights nor pretrained
    ensemble_weights_dir: null       # offline: <dir>/<name>.pdparams for entries without weights
    store:
      keep_float: false              # also write the float16 consensus (.npy beside the label)
      keep_model_maps: false         # also write raw per-model maps (model_maps/, for evaluation)
      png_compression: 9             # zlib level of the label PNGs
      fsync: true                    # fsync each label and done-list line (crash safety)
    max_failure_fraction: 0.01       # exit status 1 when more images than this fraction fail
    fail_fast:                       # exit status 3 at once when images keep failing alike
      first: 10                      # the first N images of a run all fail for one reason
      in_a_row: 50                   # N images in a row fail for one reason (0: rule off)
    num_workers: 2                   # image-decoding threads (0: decode in the main thread)
    limit: null                      # only the first N images (sorted order; for trials)
    merge_timeout_s: null            # rank 0 waits this long for the other ranks (null: for ever)
    progress: true                   # tqdm progress bar per rank
    profile: false                   # log the time per stage and image (always in the manifest)

Every problem is reported at start-up as a :class:`ConfigError` naming the key and the fix.
``--opts key=value`` overrides use dotted keys and YAML values
(``--opts resolution.short_side=256 explainer.n_samples=8 ensemble.0.weights=/w/r18.pdparams``).
"""
import copy
import difflib
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional

import yaml

from paddleseg_pssl import subsets
from paddleseg_pssl.consensus import label_maths
from paddleseg_pssl.errors import PSSLConfigError

BASE_KEY = "_base_"

#: Every top-level key with its default (None: required, or no value).
DEFAULTS: Dict[str, Any] = {
    "images": {"root": None, "split": "train", "list": None, "synsets": None,
               "per_class": None, "fraction": None},
    "output": None,
    "seed": 0,
    "resolution": {"short_side": 224, "max_long_side": None},
    "explainer": {},
    "consensus": {"normalisation": label_maths.DEFAULT_NORMALISATION,
                  "smoothing": label_maths.DEFAULT_SMOOTHING},
    "ensemble": None,
    "require_weights": True,
    "ensemble_weights_dir": None,
    "store": {"keep_float": False, "keep_model_maps": False, "png_compression": 9,
              "fsync": True},
    "max_failure_fraction": 0.01,
    "fail_fast": {"first": 10, "in_a_row": 50},
    "num_workers": 2,
    "limit": None,
    "merge_timeout_s": None,
    "progress": True,
    "profile": False,
}

#: Sections whose own keys are checked here (``explainer`` and ``ensemble`` entries are checked
#: by the engines and the ensemble parser).
CHECKED_SECTIONS = ("images", "resolution", "consensus", "store", "fail_fast")


class ConfigError(PSSLConfigError):
    """A generation setting is invalid. ``key`` is the dotted key; the message says the fix."""

    def __init__(self, key: str, message: str, *, required: bool = False):
        super().__init__(f"config key {key!r}: {message}")
        self.key = key
        self.detail = message
        self.required = required  # the key has no value and no default


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------

def _merge(base: Dict[str, Any], child: Mapping[str, Any]) -> Dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in child.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_yaml(path: str, _seen: Optional[List[str]] = None) -> Dict[str, Any]:
    """Read a YAML config with its ``_base_`` chain (a path or a list of paths)."""
    path = os.path.abspath(path)
    seen = list(_seen or [])
    if path in seen:
        raise ConfigError(BASE_KEY, f"{path!r} includes itself (chain {seen + [path]})")
    if not os.path.isfile(path):
        raise ConfigError("--config", f"file {path!r} does not exist")
    with open(path, "r", encoding="utf-8") as f:
        try:
            data = yaml.safe_load(f) or {}
        except yaml.YAMLError as exc:
            raise ConfigError("--config", f"{path!r} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError("--config", f"{path!r} must hold a mapping, got {type(data).__name__}")
    bases = data.pop(BASE_KEY, None)
    if bases is None:
        return data
    merged: Dict[str, Any] = {}
    for base in [bases] if isinstance(bases, str) else list(bases):
        base_path = os.path.join(os.path.dirname(path), os.fspath(base))
        merged = _merge(merged, load_yaml(base_path, seen + [path]))
    return _merge(merged, data)


def _parse_value(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_opts(cfg: Dict[str, Any], opts: Iterable[str]) -> Dict[str, Any]:
    """Apply ``key=value`` overrides; dotted keys go into mappings, integers index lists.

    Raises:
        ConfigError: an override without '=', or a key path through a non-container.
    """
    out = copy.deepcopy(cfg)
    for opt in opts or []:
        if "=" not in opt:
            raise ConfigError(str(opt), "an override must look like key=value "
                                        "(e.g. resolution.short_side=256)")
        dotted, _, raw = opt.partition("=")
        dotted = dotted.strip()
        parts = dotted.split(".")
        if not dotted or any(not p for p in parts):
            raise ConfigError(dotted, f"malformed key in override {opt!r}")
        node: Any = out
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            where = ".".join(parts[: depth + 1])
            if isinstance(node, list):
                if not part.lstrip("-").isdigit() or not -len(node) <= int(part) < len(node):
                    raise ConfigError(where, f"index {part!r} is not valid for a list of "
                                             f"{len(node)} entries")
                key: Any = int(part)
            elif isinstance(node, dict):
                key = part
            else:
                raise ConfigError(where, f"cannot set a key inside "
                                         f"{'.'.join(parts[:depth])!r}, which is "
                                         f"{type(node).__name__} {node!r}")
            if last:
                node[key] = _parse_value(raw)
            else:
                if isinstance(node, dict) and (key not in node or node[key] is None):
                    node[key] = {}
                node = node[key]
    return out


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------

def _unknown(key: str, known: Iterable[str], where: str) -> ConfigError:
    known = list(known)
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ConfigError(f"{where}{key}", f"unknown key; {hint}known keys: {known}")


def _int(cfg, key, value, *, minimum=None, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, f"must be an integer{' or null' if allow_none else ''}, "
                               f"got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(key, f"must be >= {minimum}, got {value}")
    return value


def _bool(key, value):
    if not isinstance(value, bool):
        raise ConfigError(key, f"must be true or false, got {value!r}")
    return value


def _path(key, value, *, required=False):
    if value is None:
        if required:
            raise ConfigError(key, "is required; set it in the YAML", required=True)
        return None
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value).strip():
        raise ConfigError(key, f"must be a path, got {value!r}")
    return os.path.expanduser(os.path.expandvars(os.fspath(value)))


def _check_subset(images: Mapping[str, Any]) -> None:
    """``images.per_class`` / ``images.fraction``: at most one, each a valid subset size."""
    if images["per_class"] is not None and images["fraction"] is not None:
        raise ConfigError("images.per_class", "and images.fraction are both set; keep one")
    try:
        subset_spec(images)
    except subsets.SubsetError as exc:
        key = "images.per_class" if images["per_class"] is not None else "images.fraction"
        raise ConfigError(key, str(exc).split(": ", 1)[-1]) from None


def subset_spec(images: Mapping[str, Any]) -> Optional[subsets.SubsetSpec]:
    """The class-balanced subset the ``images`` section asks for, or None for every image."""
    if images.get("per_class") is not None:
        return subsets.parse_per_class(images["per_class"], "images.per_class")
    if images.get("fraction") is not None:
        fraction = images["fraction"]
        if isinstance(fraction, int) and not isinstance(fraction, bool) and fraction == 1:
            fraction = 1.0
        if not isinstance(fraction, float):
            raise subsets.SubsetError(f"images.fraction: {fraction!r}; expected a fraction in "
                                      "(0, 1] (a count per class is images.per_class)")
        return subsets.parse_size(fraction, "images.fraction")
    return None


def validate(raw: Mapping[str, Any]) -> Dict[str, Any]:
    """Fill defaults and check every key this module owns; returns the complete config.

    Raises:
        ConfigError: naming the first invalid key, its value and the fix.
    """
    for key in raw:
        if key not in DEFAULTS:
            raise _unknown(str(key), DEFAULTS, "")
    cfg = _merge(DEFAULTS, {k: v for k, v in raw.items() if v is not None})
    for section in CHECKED_SECTIONS:
        if not isinstance(cfg[section], dict):
            raise ConfigError(section, f"must be a mapping, got {cfg[section]!r}")
        for key in cfg[section]:
            if key not in DEFAULTS[section]:
                raise _unknown(str(key), DEFAULTS[section], f"{section}.")

    images = cfg["images"]
    images["root"] = _path("images.root", images["root"], required=True)
    images["list"] = _path("images.list", images["list"])
    images["synsets"] = _path("images.synsets", images["synsets"])
    if not isinstance(images["split"], str) or not images["split"].strip():
        raise ConfigError("images.split", f"must be a folder name, got {images['split']!r}")
    if not os.path.isdir(images["root"]):
        raise ConfigError("images.root", f"{images['root']!r} is not a directory; point it at "
                                         "the image root (holding train/<class>/<image>)")
    if images["list"] is None and not os.path.isdir(os.path.join(images["root"],
                                                                 images["split"])):
        raise ConfigError("images.split", f"{os.path.join(images['root'], images['split'])!r} "
                                          "is not a directory; fix images.root / images.split, "
                                          "or give images.list")
    for key in ("list", "synsets"):
        if images[key] is not None and not os.path.isfile(images[key]):
            raise ConfigError(f"images.{key}", f"file {images[key]!r} does not exist")

    _check_subset(images)

    cfg["output"] = _path("output", cfg["output"], required=True)
    if os.path.exists(cfg["output"]) and not os.path.isdir(cfg["output"]):
        raise ConfigError("output", f"{cfg['output']!r} exists and is not a directory")
    cfg["seed"] = _int(cfg, "seed", cfg["seed"], minimum=0)

    res = cfg["resolution"]
    res["short_side"] = _int(cfg, "resolution.short_side", res["short_side"], minimum=32)
    res["max_long_side"] = _int(cfg, "resolution.max_long_side", res["max_long_side"],
                                minimum=res["short_side"], allow_none=True)

    normalisation = cfg["consensus"]["normalisation"]
    if not isinstance(normalisation, str) or normalisation not in label_maths.NORMALISATIONS:
        raise ConfigError("consensus.normalisation",
                          f"must be one of {list(label_maths.NORMALISATIONS)}, "
                          f"got {cfg['consensus']['normalisation']!r}")
    smoothing = cfg["consensus"]["smoothing"]
    if isinstance(smoothing, bool) or not isinstance(smoothing, (int, float)) or not (
            0 <= smoothing < 1):
        raise ConfigError("consensus.smoothing", f"must be a fraction of the short side in "
                                                 f"[0, 1), e.g. 0.02, got {smoothing!r}")
    cfg["consensus"]["smoothing"] = float(smoothing)
    if not isinstance(cfg["explainer"], dict):
        raise ConfigError("explainer", f"must be a mapping, got {cfg['explainer']!r}")
    if cfg["ensemble"] is None:
        raise ConfigError("ensemble", "is required: a list of classifiers "
                                      "(- {arch: resnet50, weights: /w/resnet50.pdparams})")
    _bool("require_weights", cfg["require_weights"])
    weights_dir = cfg["ensemble_weights_dir"]
    if weights_dir is not None and not os.path.isdir(str(weights_dir)):
        raise ConfigError("ensemble_weights_dir",
                          f"{weights_dir!r} is not a directory; expected a folder holding "
                          f"<name>.pdparams for each ensemble entry without weights")

    store = cfg["store"]
    for key in ("keep_float", "keep_model_maps", "fsync"):
        _bool(f"store.{key}", store[key])
    store["png_compression"] = _int(cfg, "store.png_compression", store["png_compression"],
                                    minimum=0)
    if store["png_compression"] > 9:
        raise ConfigError("store.png_compression", f"must be 0..9, got {store['png_compression']}")

    frac = cfg["max_failure_fraction"]
    if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 <= frac <= 1:
        raise ConfigError("max_failure_fraction", f"must be a number in [0, 1], got {frac!r}")
    cfg["max_failure_fraction"] = float(frac)
    for key in DEFAULTS["fail_fast"]:
        cfg["fail_fast"][key] = _int(cfg, f"fail_fast.{key}", cfg["fail_fast"][key], minimum=0)
    cfg["num_workers"] = _int(cfg, "num_workers", cfg["num_workers"], minimum=0)
    cfg["limit"] = _int(cfg, "limit", cfg["limit"], minimum=1, allow_none=True)
    timeout = cfg["merge_timeout_s"]
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or timeout <= 0):
        raise ConfigError("merge_timeout_s", f"must be a positive number or null, got {timeout!r}")
    _bool("progress", cfg["progress"])
    _bool("profile", cfg["profile"])
    return cfg


def load_config(path: Optional[str], opts: Iterable[str] = (),
                overrides: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Load ``path`` (with its ``_base_`` chain), apply ``--opts`` and direct overrides, validate.

    Args:
        path: The YAML file (None: start from the defaults, everything from ``opts``).
        opts: ``key=value`` strings (dotted keys).
        overrides: dotted key -> value, applied after ``opts`` (CLI flags like ``--output``).
    """
    raw = load_yaml(path) if path else {}
    raw = apply_opts(raw, opts)
    if overrides:
        raw = apply_opts(raw, [])  # copy
        for dotted, value in overrides.items():
            node = raw
            parts = dotted.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = value
    return validate(raw)
