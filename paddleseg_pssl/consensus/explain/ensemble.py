"""The ensemble of classifiers whose explanations PSSL averages (arXiv 2207.03335, Section 3.1;
M = 15 in the paper): :func:`parse_ensemble` checks the ``ensemble:`` list (commented example in
configs/pssl/generate/imagenet_15_models.yml) into :class:`ClassifierSpec` objects, which
:mod:`.classifier_loading` builds; only the class count comes from the dataset."""
from __future__ import annotations

import dataclasses
import difflib
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from paddle.vision import models as vision_models

from paddleseg_pssl import model_factory
from paddleseg_pssl.constants import IMAGENET_INPUT_SIZE, IMAGENET_NUM_CLASSES

#: ImageNet statistics on the 0..1 scale (paddle.vision's and PaddleClas's pretrained weights).
IMAGENET_MEAN: Tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: Tuple[float, float, float] = (0.229, 0.224, 0.225)
#: How an image of the explanation resolution reaches a model.
RESIZE_MODES: Tuple[str, ...] = ("keep_aspect", "square")
SPEC_KEYS: Tuple[str, ...] = ("name", "arch", "weights", "pretrained", "input_size", "mean", "std",
                              "resize", "kwargs")


class EnsembleConfigError(ValueError):
    """An ``ensemble:`` entry is invalid; the message names the entry, the key and the fix.
    ``key``: the config key at fault (``ensemble``, ``ensemble[i]`` or ``ensemble[i].<key>``)."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


@dataclasses.dataclass(frozen=True)
class ClassifierSpec:
    """One classifier of the ensemble (one ``ensemble:`` entry, every key checked)."""

    name: str                         # unique; manifest and per-model maps (default: arch)
    arch: str                         # paddle.vision.models function, or 'module:factory'
    weights: Optional[str] = None     # a .pdparams state dict
    pretrained: bool = False          # the factory downloads its own weights (internet)
    num_classes: int = IMAGENET_NUM_CLASSES  # the dataset's class count
    input_size: int = IMAGENET_INPUT_SIZE    # square side, with resize: square
    mean: Tuple[float, float, float] = IMAGENET_MEAN  # RGB, on the 0..1 scale
    std: Tuple[float, float, float] = IMAGENET_STD
    resize: str = "keep_aspect"       # or square: input_size x input_size, map resized back
    kwargs: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        """A plain, YAML/JSON-friendly dict (for the manifest)."""
        return dict(dataclasses.asdict(self), mean=list(self.mean), std=list(self.std))


def resolve_factory(arch: str) -> Callable[..., Any]:
    """The callable that builds ``arch``; :class:`EnsembleConfigError` for an unknown
    paddle.vision name (with close matches), or a module or factory that is not there."""
    def paddle_vision_models() -> Dict[str, Callable[..., Any]]:
        """The model functions ``paddle.vision.models`` exports (lower-case entries)."""
        return {n: getattr(vision_models, n) for n in sorted(vision_models.__all__)
                if n[:1].islower() and callable(getattr(vision_models, n))}

    try:
        return model_factory.resolve_factory(arch, paddle_vision_models,
                                             "a paddle.vision.models function")
    except model_factory.FactoryError as exc:
        raise EnsembleConfigError("ensemble", str(exc)) from exc


MIN_INPUT_SIZE: int = 16  # pixels
#: Factory arguments an entry must not set (derived from the dataset and ``pretrained``).
RESERVED_KWARGS: Tuple[str, ...] = ("num_classes", "class_num", "pretrained")


def _spec_default(key: str) -> Any:
    """The default of a :class:`ClassifierSpec` field (declared once, on the dataclass)."""
    return ClassifierSpec.__dataclass_fields__[key].default


def _triple(value: Any, where: str, key: str) -> Tuple[float, float, float]:
    at = f"{where}.{key}"
    if (not isinstance(value, (list, tuple)) or len(value) != 3
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise EnsembleConfigError(at, f"{at} must be a list of 3 numbers (R, G, B), "
                                      f"got {value!r}")
    triple = tuple(float(v) for v in value)
    if any(v > 1.0 for v in triple):
        raise EnsembleConfigError(at, f"{at} = {list(value)} looks like the 0..255 scale; give "
                                      f"it on the 0..1 scale (divide by 255)")
    return triple  # type: ignore[return-value]


def _entry_mapping(entry: Any, where: str) -> Dict[str, Any]:
    """The entry as a mapping with known keys and an ``arch`` (``'- resnet50'`` is shorthand)."""
    if isinstance(entry, str):
        entry = {"arch": entry}
    if not isinstance(entry, dict):
        raise EnsembleConfigError(where, f"{where} must be a mapping with at least 'arch', "
                                         f"got {entry!r}")
    unknown = [k for k in entry if k not in SPEC_KEYS]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(str(key), SPEC_KEYS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        extra = (" (the class count comes from the dataset's class list)"
                 if key == "num_classes" else "")
        raise EnsembleConfigError(where, f"{where} has unknown key {key!r}{extra}; {hint}"
                                         f"allowed keys: {list(SPEC_KEYS)}")
    if "arch" not in entry:
        raise EnsembleConfigError(where, f"{where} has no 'arch' (e.g. arch: resnet50, or "
                                         f"arch: my_pkg.nets:build)")
    try:
        resolve_factory(entry["arch"])
    except EnsembleConfigError as exc:
        raise EnsembleConfigError(f"{where}.arch", f"{where}.arch: {exc}") from None
    return entry


def _entry_name(entry: Dict[str, Any], where: str, seen: Dict[str, str]) -> str:
    arch = entry["arch"]
    name = entry.get("name") or (arch.partition(":")[2] if ":" in arch else arch)
    at = f"{where}.name"
    if not isinstance(name, str):
        raise EnsembleConfigError(at, f"{at} must be a string, got {name!r}")
    if name in seen:
        raise EnsembleConfigError(at, f"{at} {name!r} is already used by {seen[name]}; give one "
                                      f"of them a distinct 'name:'")
    seen[name] = where
    return name


def _entry_weights(entry: Dict[str, Any], name: str, where: str, *, require_weights: bool,
                   weights_dir: Optional[str]) -> Tuple[Optional[str], bool]:
    """``(weights, pretrained)`` of an entry; ``weights_dir`` supplies missing weights."""
    weights = entry.get("weights")
    pretrained = entry.get("pretrained", _spec_default("pretrained"))
    if weights is None and weights_dir:
        weights = os.path.join(os.fspath(weights_dir), f"{name}.pdparams")
        pretrained = False
    if weights is not None:
        at = f"{where}.weights"
        if not isinstance(weights, (str, os.PathLike)):
            raise EnsembleConfigError(at, f"{at} must be a path or null, got {weights!r}")
        weights = os.path.expanduser(os.path.expandvars(os.fspath(weights)))
        if not os.path.isfile(weights):
            raise EnsembleConfigError(at, f"{at}: file {weights!r} does not exist (model "
                                          f"{name!r}); fix the path, or set weights: null and "
                                          f"pretrained: true on a machine with internet")
    if not isinstance(pretrained, bool):
        raise EnsembleConfigError(f"{where}.pretrained", f"{where}.pretrained must be true or "
                                                         f"false, got {pretrained!r}")
    if pretrained and weights is not None:
        raise EnsembleConfigError(where, f"{where} sets both weights ({weights!r}) and "
                                         f"pretrained: true; keep one")
    if require_weights and weights is None and not pretrained:
        raise EnsembleConfigError(where, f"{where} ({name!r}) has neither weights nor "
                                         f"pretrained: true; a randomly initialised "
                                         f"classifier gives meaningless labels")
    return weights, pretrained


def _entry_inputs(entry: Dict[str, Any], where: str) -> Dict[str, Any]:
    """``input_size``, ``mean``, ``std``, ``resize`` and ``kwargs`` of an entry, checked."""
    input_size = entry.get("input_size", _spec_default("input_size"))
    if (isinstance(input_size, bool) or not isinstance(input_size, int)
            or input_size < MIN_INPUT_SIZE):
        raise EnsembleConfigError(f"{where}.input_size", f"{where}.input_size must be an "
                                  f"integer >= {MIN_INPUT_SIZE}, got {input_size!r}")
    mean = _triple(entry.get("mean", _spec_default("mean")), where, "mean")
    std = _triple(entry.get("std", _spec_default("std")), where, "std")
    if any(s <= 0 for s in std):
        raise EnsembleConfigError(f"{where}.std", f"{where}.std must be positive, got {list(std)}")
    resize = entry.get("resize", _spec_default("resize"))
    if resize not in RESIZE_MODES:
        raise EnsembleConfigError(f"{where}.resize", f"{where}.resize must be one of "
                                                     f"{list(RESIZE_MODES)}, got {resize!r}")
    kwargs = entry.get("kwargs") or {}
    at = f"{where}.kwargs"
    if not isinstance(kwargs, dict):
        raise EnsembleConfigError(at, f"{at} must be a mapping, got {kwargs!r}")
    for reserved in RESERVED_KWARGS:
        if reserved in kwargs:
            raise EnsembleConfigError(at, f"{at} must not set {reserved!r}: it is derived from "
                                          f"the dataset and the 'pretrained' key")
    return {"input_size": input_size, "mean": mean, "std": std, "resize": resize,
            "kwargs": dict(kwargs)}


def with_classes(specs: Sequence[ClassifierSpec], num_classes: int) -> List[ClassifierSpec]:
    """``specs`` for a dataset of ``num_classes`` classes (an integer >= 2)."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise EnsembleConfigError("ensemble", f"num_classes must be an integer >= 2, "
                                              f"got {num_classes!r}")
    return [dataclasses.replace(spec, num_classes=num_classes) for spec in specs]


def parse_ensemble(cfg_list: Sequence[Dict[str, Any]],
                   num_classes: int = IMAGENET_NUM_CLASSES, *, require_weights: bool = False,
                   weights_dir: Optional[str] = None) -> List[ClassifierSpec]:
    """Validate the ``ensemble:`` list of a generation config, one :class:`ClassifierSpec` per
    entry in order; errors name the entry (``ensemble[i]``), the key, the value and the fix."""
    if isinstance(cfg_list, dict) or not isinstance(cfg_list, (list, tuple)) or not cfg_list:
        raise EnsembleConfigError("ensemble", f"ensemble must be a non-empty list of classifiers "
                                              f"(- arch: resnet50 ...), got "
                                              f"{type(cfg_list).__name__}: {cfg_list!r:.200}")
    specs: List[ClassifierSpec] = []
    seen: Dict[str, str] = {}
    for i, raw in enumerate(cfg_list):
        where = f"ensemble[{i}]"
        entry = _entry_mapping(raw, where)
        name = _entry_name(entry, where, seen)
        weights, pretrained = _entry_weights(entry, name, where, require_weights=require_weights,
                                             weights_dir=weights_dir)
        specs.append(ClassifierSpec(name=name, arch=entry["arch"], weights=weights,
                                    pretrained=pretrained, **_entry_inputs(entry, where)))
    return with_classes(specs, num_classes)
