"""Start-up of a PSSL generation run (arXiv 2207.03335, Section 3): config -> :class:`Context`.

Everything that would fail every image (class list, models, weights, explainer settings, rank
and world size) raises a :class:`ConfigError` naming the config key here, so a run that starts
labelling has nothing left to refuse; the settings and their digest are resolved here too.
"""
import dataclasses
from typing import Any, Dict, List, Optional, Sequence

from paddleseg_pssl import pssl_format
from paddleseg_pssl.consensus.explain import ensemble as ensemble_mod
from paddleseg_pssl.consensus.store import fingerprint
from paddleseg_pssl.consensus.run import image_source as image_source_mod
from paddleseg_pssl.consensus.run import sharding
from paddleseg_pssl.consensus.explain.classifier_loading import (ClassifierBuildError,
                                                                 build_classifier, weights_checksum)
from paddleseg_pssl.consensus.explain.engine_base import device_kind
from paddleseg_pssl.consensus.run.generate_config import (ConfigError, GenerateConfig,
                                                          explainer_engine, subset_spec)


@dataclasses.dataclass
class Context:
    """Everything start-up resolved: the run needs nothing else."""

    cfg: GenerateConfig
    source: image_source_mod.ImageSource
    items: List[image_source_mod.ImageItem]
    specs: list
    checksums: List[Optional[str]]
    settings: Dict[str, Any]
    settings_digest: str
    rank: int
    world_size: int
    models: list = dataclasses.field(default_factory=list)
    engine: Any = None


def slice_digest(items: Sequence[image_source_mod.ImageItem], rank: int, world_size: int) -> str:
    """Identity of one rank's slice (its image paths), checked in completion markers."""
    return fingerprint.json_digest([it.image_rel for it in sharding.shard(items, rank, world_size)])


def _build_source(cfg: GenerateConfig) -> image_source_mod.ImageSource:
    """The image source of ``cfg.images``; a bad class list is blamed on images.synsets."""
    images = cfg.images
    if images.synsets:
        try:
            pssl_format.read_class_list(images.synsets)
        except pssl_format.PSSLFormatError as exc:
            raise ConfigError("images.synsets", str(exc)) from None
    try:
        source = image_source_mod.build_image_source(
            images.root, split=images.split, list_file=images.list,
            synsets=images.synsets)
    except image_source_mod.ImageSourceError as exc:
        raise ConfigError("images.list" if images.list else "images.root", str(exc)) from None
    if not source.items:
        raise ConfigError("images.root", f"no images found under {images.root!r} "
                                         f"(split {images.split!r}, list {images.list!r})")
    return source


def _rank_and_world(rank: Optional[int], world_size: Optional[int]):
    if rank is None or world_size is None:
        env_rank, env_world = sharding.rank_and_world()
        rank = env_rank if rank is None else rank
        world_size = env_world if world_size is None else world_size
    try:
        return sharding.check_rank_and_world(int(rank), int(world_size))
    except ValueError as exc:
        raise ConfigError("rank/world_size", str(exc)) from None  # the CLI names its flags


def _device_settings(engine) -> Dict[str, Any]:
    """The device kind and the resolved precision of the run (labels differ across them)."""
    resolved_amp = getattr(engine, "resolved_amp", None)
    return {"kind": device_kind(), "amp": bool(resolved_amp()) if resolved_amp else False}


def _settings(cfg: GenerateConfig, source, engine, specs, checksums) -> Dict[str, Any]:
    """The settings recorded in the manifest and fingerprints, in the raw config's shape."""
    return {
        "images": dataclasses.asdict(cfg.images),
        "num_classes": source.num_classes,
        "classes_sha256": fingerprint.json_digest(source.classes),
        "seed": cfg.seed,
        "resolution": dataclasses.asdict(cfg.resolution),
        "explainer": engine.config(),
        "consensus": dataclasses.asdict(cfg.consensus),
        "device": _device_settings(engine),
        "ensemble": [dict(s.to_dict(), weights_sha256=c) for s, c in zip(specs, checksums)],
        "require_weights": cfg.require_weights,
        "store": dataclasses.asdict(cfg.store),
        "max_failure_fraction": cfg.max_failure_fraction,
        "limit": cfg.limit,
    }


def _build_models(ctx: Context) -> None:
    for i, spec in enumerate(ctx.specs):
        try:
            ctx.models.append(build_classifier(spec))
        except ClassifierBuildError as exc:
            key = f"ensemble[{i}].weights" if exc.about_weights else f"ensemble[{i}]"
            raise ConfigError(key, str(exc)) from None
    if hasattr(ctx.engine, "name_models"):
        ctx.engine.name_models({id(m): s.name for m, s in zip(ctx.models, ctx.specs)})


def prepare(cfg: GenerateConfig, *, rank: Optional[int] = None,
            world_size: Optional[int] = None, build_models: bool = True) -> Context:
    """Resolve the config into a :class:`Context`; every start-up error is a ConfigError."""
    rank, world_size = _rank_and_world(rank, world_size)
    engine = explainer_engine(cfg.explainer, check_ready=True)  # before the images are listed
    source = _build_source(cfg)
    items = image_source_mod.balanced_subset(source.items, subset_spec(cfg.images), cfg.seed)
    items = items[: cfg.limit] if cfg.limit else items
    try:
        specs = ensemble_mod.with_classes(cfg.ensemble, source.num_classes)
    except ensemble_mod.EnsembleConfigError as exc:
        raise ConfigError(exc.key, str(exc)) from None
    checksums = [weights_checksum(s) for s in specs]
    settings = _settings(cfg, source, engine, specs, checksums)
    ctx = Context(cfg=cfg, source=source, items=items, specs=specs, checksums=checksums,
                  settings=settings,
                  settings_digest=fingerprint.settings_digest(settings),
                  rank=rank, world_size=world_size, engine=engine)
    if build_models:
        _build_models(ctx)
    return ctx
