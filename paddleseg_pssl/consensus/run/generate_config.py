"""The typed generation config (PSSL, arXiv 2207.03335, Section 3): one dataclass per section,
each default declared once on its field; :func:`validate` fills them in and checks every key
before any image is listed, raising a :class:`ConfigError` naming the dotted key."""
import dataclasses
import difflib
import os
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

from paddleseg_pssl import subsets
from paddleseg_pssl.consensus import label_maths
from paddleseg_pssl.consensus.explain import ensemble as ensemble_mod
from paddleseg_pssl.consensus.explain.engine_base import EngineConfigError, ExplainerConfig
from paddleseg_pssl.consensus.explain.engines import ExplainerEngine, engine_from_config
from paddleseg_pssl.consensus.store.pssl_store import MAX_PNG_COMPRESSION, StoreConfig
from paddleseg_pssl.constants import IMAGENET_INPUT_SIZE
from paddleseg_pssl.errors import PSSLConfigError


class ConfigError(PSSLConfigError):
    """A generation setting is invalid. ``key`` is the dotted key; the message says the fix."""

    def __init__(self, key: str, message: str, *, required: bool = False,
                 options: Iterable[str] = ()):
        super().__init__(f"config key {key!r}: {message}", options)
        self.key = key
        self.detail = message
        self.required = required  # the key has no value and no default


MIN_SHORT_SIDE: int = 32  # pixels


@dataclasses.dataclass(frozen=True)
class ImagesConfig:
    """``images:``: which classification images are labelled, and their class list."""

    root: Optional[str] = None        # required: holds <split>/<class>/<image>
    split: str = "train"
    list: Optional[str] = None        # a file of '<path relative to root> <class>' lines
    synsets: Optional[str] = None     # the class list fixing class ids
    per_class: Optional[int] = None   # label only N images of each class
    fraction: Optional[float] = None  # or this share (0, 1] of every class


@dataclasses.dataclass(frozen=True)
class ResolutionConfig:
    """``resolution:``: the explanation and label resolution (aspect kept)."""

    short_side: int = IMAGENET_INPUT_SIZE
    max_long_side: Optional[int] = None  # None: 4 x short_side (pssl_format.label_size.MAX_ASPECT)


@dataclasses.dataclass(frozen=True)
class ConsensusConfig:
    """``consensus:``: per-model normalisation and smoothing before Eq. 1 (label_maths)."""

    normalisation: str = label_maths.DEFAULT_NORMALISATION
    smoothing: float = label_maths.DEFAULT_SMOOTHING


@dataclasses.dataclass(frozen=True)
class FailFastConfig:
    """``fail_fast:``: stop a run whose images keep failing for one reason (0: rule off)."""

    first: int = 10
    in_a_row: int = 50


@dataclasses.dataclass(frozen=True)
class GenerateConfig:
    """A complete, validated generation config (the YAML's top-level keys)."""

    images: ImagesConfig = dataclasses.field(default_factory=ImagesConfig)
    output: Optional[str] = None      # required: the PSSL root
    seed: int = 0
    resolution: ResolutionConfig = dataclasses.field(default_factory=ResolutionConfig)
    explainer: ExplainerConfig = dataclasses.field(default_factory=ExplainerConfig)
    consensus: ConsensusConfig = dataclasses.field(default_factory=ConsensusConfig)
    ensemble: Optional[Tuple[ensemble_mod.ClassifierSpec, ...]] = None  # required
    require_weights: bool = True
    ensemble_weights_dir: Optional[str] = None
    store: StoreConfig = dataclasses.field(default_factory=StoreConfig)
    max_failure_fraction: float = 0.01
    fail_fast: FailFastConfig = dataclasses.field(default_factory=FailFastConfig)
    num_workers: int = 2
    limit: Optional[int] = None
    merge_timeout_s: Optional[float] = None
    progress: bool = True
    profile: bool = False


SECTIONS = {f.name: f.default_factory for f in dataclasses.fields(GenerateConfig)
            if dataclasses.is_dataclass(f.default_factory)}


def defaults() -> Dict[str, Any]:
    """Every key with its default, in the raw mapping shape (None: required, or no value)."""
    return dataclasses.asdict(GenerateConfig())


def _unknown(key: str, known: Iterable[str], where: str) -> ConfigError:
    known = list(known)
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ConfigError(f"{where}{key}", f"unknown key; {hint}known keys: {known}")


def _int(key: str, value: Any, *, minimum: Optional[int] = None, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, f"must be an integer{' or null' if allow_none else ''}, "
                               f"got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(key, f"must be >= {minimum}, got {value}")
    return value


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, f"must be true or false, got {value!r}")
    return value


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float))


def _path(key: str, value: Any, *, required: bool = False) -> Optional[str]:
    if value is None:
        if required:
            raise ConfigError(key, "is required; set it in the YAML", required=True)
        return None
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value).strip():
        raise ConfigError(key, f"must be a path, got {value!r}")
    return os.path.expanduser(os.path.expandvars(os.fspath(value)))


def subset_spec(images: ImagesConfig) -> Optional[subsets.SubsetSpec]:
    """The class-balanced subset the ``images`` section asks for, or None for every image."""
    if images.per_class is not None:
        return subsets.parse_per_class(images.per_class, "images.per_class")
    if images.fraction is not None:
        fraction = images.fraction
        if isinstance(fraction, int) and not isinstance(fraction, bool) and fraction == 1:
            fraction = 1.0
        if not isinstance(fraction, float):
            raise subsets.SubsetError(f"images.fraction: {fraction!r}; expected a fraction in "
                                      "(0, 1] (a count per class is images.per_class)")
        return subsets.parse_size(fraction, "images.fraction")
    return None


def _section(raw: Mapping[str, Any], name: str) -> Dict[str, Any]:
    """``raw[name]`` over the section's defaults, refusing unknown keys."""
    value = raw.get(name)
    base = dataclasses.asdict(SECTIONS[name]())
    if value is None:
        return base
    if not isinstance(value, dict):
        raise ConfigError(name, f"must be a mapping, got {value!r}")
    for key in value:
        if key not in base:
            raise _unknown(str(key), base, f"{name}.")
    return dict(base, **value)


def _images(images: Dict[str, Any]) -> ImagesConfig:
    images["root"] = _path("images.root", images["root"], required=True)
    images["list"] = _path("images.list", images["list"])
    images["synsets"] = _path("images.synsets", images["synsets"])
    if not isinstance(images["split"], str) or not images["split"].strip():
        raise ConfigError("images.split", f"must be a folder name, got {images['split']!r}")
    if not os.path.isdir(images["root"]):
        raise ConfigError("images.root", f"{images['root']!r} is not a directory; point it at "
                                         "the image root (holding train/<class>/<image>)")
    split_dir = os.path.join(images["root"], images["split"])
    if images["list"] is None and not os.path.isdir(split_dir):
        raise ConfigError("images.split", f"{split_dir!r} is not a directory; fix images.root / "
                                          "images.split, or give images.list")
    for key in ("list", "synsets"):
        if images[key] is not None and not os.path.isfile(images[key]):
            raise ConfigError(f"images.{key}", f"file {images[key]!r} does not exist")
    out = ImagesConfig(**images)
    if out.per_class is not None and out.fraction is not None:
        raise ConfigError("images.per_class", "and images.fraction are both set; keep one")
    try:
        subset_spec(out)
    except subsets.SubsetError as exc:
        key = "images.per_class" if out.per_class is not None else "images.fraction"
        raise ConfigError(key, str(exc).split(": ", 1)[-1]) from None
    return out


def _output(value: Any) -> str:
    output = _path("output", value, required=True)
    if os.path.exists(output) and not os.path.isdir(output):
        raise ConfigError("output", f"{output!r} exists and is not a directory")
    return output


def _resolution(res: Dict[str, Any]) -> ResolutionConfig:
    short = _int("resolution.short_side", res["short_side"], minimum=MIN_SHORT_SIDE)
    return ResolutionConfig(
        short_side=short, max_long_side=_int("resolution.max_long_side", res["max_long_side"],
                                             minimum=short, allow_none=True))


def _consensus(cons: Dict[str, Any]) -> ConsensusConfig:
    normalisation = cons["normalisation"]
    if not isinstance(normalisation, str) or normalisation not in label_maths.NORMALISATIONS:
        raise ConfigError("consensus.normalisation",
                          f"must be one of {list(label_maths.NORMALISATIONS)}, "
                          f"got {normalisation!r}")
    smoothing = cons["smoothing"]
    if not _number(smoothing) or not 0 <= smoothing < 1:
        raise ConfigError("consensus.smoothing", f"must be a fraction of the short side in "
                                                 f"[0, 1), e.g. 0.02, got {smoothing!r}")
    return ConsensusConfig(normalisation=normalisation, smoothing=float(smoothing))


def explainer_engine(explainer: ExplainerConfig, check_ready: bool = False) -> ExplainerEngine:
    """The engine of ``explainer`` (and whether it can run here); errors name ``explainer``."""
    try:
        engine = engine_from_config(explainer)
        if check_ready:
            engine.check_ready()
    except EngineConfigError as exc:
        raise ConfigError("explainer", str(exc)) from None
    return engine


def _models(raw: Mapping[str, Any], base: GenerateConfig) -> Dict[str, Any]:
    """``ensemble``, ``require_weights`` and ``ensemble_weights_dir``."""
    if raw.get("ensemble") is None:
        raise ConfigError("ensemble", "is required: a list of classifiers "
                                      "(- {arch: resnet50, weights: /w/resnet50.pdparams})")
    require_weights = _bool("require_weights", raw.get("require_weights", base.require_weights))
    weights_dir = raw.get("ensemble_weights_dir")
    if weights_dir is not None and not os.path.isdir(str(weights_dir)):
        raise ConfigError("ensemble_weights_dir",
                          f"{weights_dir!r} is not a directory; expected a folder holding "
                          f"<name>.pdparams for each ensemble entry without weights")
    try:
        ensemble = ensemble_mod.parse_ensemble(raw["ensemble"], require_weights=require_weights,
                                               weights_dir=weights_dir)
    except ensemble_mod.EnsembleConfigError as exc:
        raise ConfigError(exc.key, str(exc)) from None
    return {"ensemble": tuple(ensemble), "require_weights": require_weights,
            "ensemble_weights_dir": weights_dir}


def _store(store: Dict[str, Any]) -> StoreConfig:
    for key in ("keep_float", "keep_model_maps", "fsync"):
        _bool(f"store.{key}", store[key])
    level = _int("store.png_compression", store["png_compression"], minimum=0)
    if level > MAX_PNG_COMPRESSION:
        raise ConfigError("store.png_compression", f"must be 0..{MAX_PNG_COMPRESSION}, got {level}")
    return StoreConfig(**store)


def _failure_rules(raw: Mapping[str, Any], rules: Dict[str, Any],
                   base: GenerateConfig) -> Dict[str, Any]:
    """``max_failure_fraction`` and ``fail_fast``."""
    frac = raw.get("max_failure_fraction", base.max_failure_fraction)
    if not _number(frac) or not 0 <= frac <= 1:
        raise ConfigError("max_failure_fraction", f"must be a number in [0, 1], got {frac!r}")
    return {"max_failure_fraction": float(frac),
            "fail_fast": FailFastConfig(**{key: _int(f"fail_fast.{key}", value, minimum=0)
                                           for key, value in rules.items()})}


def _run_settings(raw: Mapping[str, Any], base: GenerateConfig) -> Dict[str, Any]:
    """``num_workers``, ``limit``, ``merge_timeout_s``, ``progress`` and ``profile``."""
    num_workers = _int("num_workers", raw.get("num_workers", base.num_workers), minimum=0)
    limit = _int("limit", raw.get("limit"), minimum=1, allow_none=True)
    timeout = raw.get("merge_timeout_s")
    if timeout is not None and (not _number(timeout) or timeout <= 0):
        raise ConfigError("merge_timeout_s", f"must be a positive number or null, got {timeout!r}")
    return {"num_workers": num_workers, "limit": limit, "merge_timeout_s": timeout,
            "progress": _bool("progress", raw.get("progress", base.progress)),
            "profile": _bool("profile", raw.get("profile", base.profile))}


def validate(raw: Mapping[str, Any]) -> GenerateConfig:
    """Fill defaults (also of top-level keys set to null) and check every key, in the order of
    the dataclass fields; a ConfigError names the first invalid key, its value and the fix."""
    base = GenerateConfig()
    known = defaults()
    for key in raw:
        if key not in known:
            raise _unknown(str(key), known, "")
    raw = {k: v for k, v in raw.items() if v is not None}
    sections = {name: _section(raw, name) for name in SECTIONS}
    images = _images(sections["images"])
    output = _output(raw.get("output"))
    seed = _int("seed", raw.get("seed", base.seed), minimum=0)
    resolution = _resolution(sections["resolution"])
    consensus = _consensus(sections["consensus"])
    explainer = ExplainerConfig(**sections["explainer"])
    explainer_engine(explainer)
    models = _models(raw, base)
    store = _store(sections["store"])
    failure_rules = _failure_rules(raw, sections["fail_fast"], base)
    return GenerateConfig(images=images, output=output, seed=seed, resolution=resolution,
                          explainer=explainer, consensus=consensus, store=store, **models,
                          **failure_rules, **_run_settings(raw, base))
