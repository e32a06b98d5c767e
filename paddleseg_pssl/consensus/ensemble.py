"""The ensemble of classifiers whose explanations PSSL averages (arXiv 2207.03335, Section 3.1).

PSSL explains every training image with M trained classifiers (the paper uses M = 15, following
Consensus, arXiv 2109.00707, which finds that more than 15 models align well with segmentation).
This module turns the ``ensemble:`` list of a generation config into validated
:class:`ClassifierSpec` objects and builds each one into a frozen ``paddle.nn.Layer``.

A config entry::

    ensemble:
      - arch: resnet50                 # a paddle.vision.models function ...
        weights: /data/ResNet50.pdparams
      - name: my_net
        arch: my_pkg.nets:build        # ... or 'module:factory' for any paddle.nn.Layer
        weights: /data/my_net.pdparams
        input_size: 299                # used with resize: square
        resize: square                 # nets that only take one size; the map is resized back
        mean: [0.5, 0.5, 0.5]          # on the 0..1 scale
        std: [0.5, 0.5, 0.5]
        kwargs: {width: 2}             # extra factory arguments

Only the class count is shared by all entries: it comes from the dataset's class list.
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import importlib
import inspect
import os
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

#: ImageNet statistics on the 0..1 scale (paddle.vision's and PaddleClas's pretrained weights).
IMAGENET_MEAN: Tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: Tuple[float, float, float] = (0.229, 0.224, 0.225)

#: How an image of the explanation resolution reaches a model.
RESIZE_MODES: Tuple[str, ...] = ("keep_aspect", "square")

#: Keys an ``ensemble:`` entry may hold.
SPEC_KEYS: Tuple[str, ...] = ("name", "arch", "weights", "pretrained", "input_size", "mean", "std",
                              "resize", "kwargs")


class EnsembleConfigError(ValueError):
    """An ``ensemble:`` entry is invalid; the message names the entry, the key and the fix.

    ``key`` is the config key at fault (``ensemble``, ``ensemble[i]`` or ``ensemble[i].<key>``).
    """

    def __init__(self, message: str, key: str = "ensemble"):
        super().__init__(message)
        self.key = key


def _config_error(key: str, message: str) -> EnsembleConfigError:
    return EnsembleConfigError(message, key=key)


class ClassifierBuildError(RuntimeError):
    """A classifier could not be built, loaded or checked; the message names the model.

    ``about_weights`` is True when the weights file (missing, unreadable, ill-fitting) is at fault.
    """

    def __init__(self, message: str, *, about_weights: bool = False):
        super().__init__(message)
        self.about_weights = about_weights


@dataclasses.dataclass(frozen=True)
class ClassifierSpec:
    """One classifier of the ensemble.

    Attributes:
        name: Unique name, used in the manifest and for per-model maps (default: ``arch``).
        arch: A ``paddle.vision.models`` function name (``'resnet50'``) or ``'module:factory'``
            for any callable returning a ``paddle.nn.Layer`` (``'ppcls.arch:ResNet50'``).
        weights: Path of a ``.pdparams`` state dict, or None.
        pretrained: Let the factory download its own weights (paddle.vision, needs internet).
        num_classes: Number of classes the model must output (the dataset's class count).
        input_size: Square side used when ``resize == 'square'``.
        mean: Per-channel RGB mean on the 0..1 scale.
        std: Per-channel RGB standard deviation on the 0..1 scale.
        resize: ``'keep_aspect'`` feeds the explanation-resolution image as is; ``'square'``
            resizes it to ``input_size`` x ``input_size`` (the map is resized back).
        kwargs: Extra keyword arguments of the factory.
    """

    name: str
    arch: str
    weights: Optional[str] = None
    pretrained: bool = False
    num_classes: int = 1000
    input_size: int = 224
    mean: Tuple[float, float, float] = IMAGENET_MEAN
    std: Tuple[float, float, float] = IMAGENET_STD
    resize: str = "keep_aspect"
    kwargs: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        """A plain, YAML/JSON-friendly dict (for the manifest)."""
        out = dataclasses.asdict(self)
        out["mean"] = list(self.mean)
        out["std"] = list(self.std)
        return out


# --------------------------------------------------------------------------------------------
# Architecture resolution
# --------------------------------------------------------------------------------------------

def paddle_vision_archs() -> List[str]:
    """Names of the model functions ``paddle.vision.models`` exports (lower-case entries)."""
    import paddle.vision.models as models

    return sorted(n for n in models.__all__ if n[:1].islower() and callable(getattr(models, n)))


def resolve_factory(arch: str) -> Callable[..., Any]:
    """Return the callable that builds ``arch``.

    Args:
        arch: ``'resnet50'`` (paddle.vision.models) or ``'package.module:factory'``.

    Raises:
        EnsembleConfigError: unknown paddle.vision name (with close matches), a module that does
            not import, or a factory that the module does not define.
    """
    if not isinstance(arch, str) or not arch.strip():
        raise EnsembleConfigError(f"arch must be a non-empty string, got {arch!r}")
    if ":" in arch:
        module_name, _, factory_name = arch.partition(":")
        if not module_name or not factory_name:
            raise EnsembleConfigError(
                f"arch {arch!r} is not of the form 'module:factory' (e.g. 'ppcls.arch:ResNet50')")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise EnsembleConfigError(
                f"arch {arch!r}: module {module_name!r} cannot be imported ({exc}); install it or "
                f"add its directory to PYTHONPATH") from exc
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - any error of the user's module
            raise EnsembleConfigError(
                f"arch {arch!r}: importing module {module_name!r} raised "
                f"{type(exc).__name__}: {exc}; fix that module") from None
        factory = getattr(module, factory_name, None)
        if factory is None or not callable(factory):
            names = [n for n in dir(module) if not n.startswith("_")]
            close = difflib.get_close_matches(factory_name, names, n=5)
            hint = f"; close matches: {close}" if close else ""
            raise EnsembleConfigError(
                f"arch {arch!r}: module {module_name!r} has no callable {factory_name!r}{hint}")
        return factory
    import paddle.vision.models as models

    known = paddle_vision_archs()
    if arch not in known:
        close = difflib.get_close_matches(arch.lower(), known, n=5, cutoff=0.5)
        hint = f"close matches: {close}" if close else f"known: {known}"
        raise EnsembleConfigError(
            f"arch {arch!r} is not a paddle.vision.models function ({hint}); for other networks "
            f"write 'module:factory'")
    return getattr(models, arch)


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------

def _triple(value: Any, where: str, key: str) -> Tuple[float, float, float]:
    if (not isinstance(value, (list, tuple)) or len(value) != 3
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise _config_error(f"{where}.{key}", f"{where}.{key} must be a list of 3 numbers (R, G, B), "
                                  f"got {value!r}")
    triple = tuple(float(v) for v in value)
    if any(v > 1.0 for v in triple):
        raise _config_error(f"{where}.{key}",
            f"{where}.{key} = {list(value)} looks like the 0..255 scale; give it on the 0..1 "
            f"scale (divide by 255)")
    return triple  # type: ignore[return-value]


def parse_ensemble(cfg_list: Sequence[Dict[str, Any]], num_classes: int, *,
                   require_weights: bool = False,
                   weights_dir: Optional[str] = None) -> List[ClassifierSpec]:
    """Validate the ``ensemble:`` list of a generation config.

    Args:
        cfg_list: One dict per classifier (keys: :data:`SPEC_KEYS`; ``arch`` is required).
        num_classes: The dataset's class count; every model must output this many scores.
        require_weights: Reject entries with neither ``weights`` nor ``pretrained: true``
            (a randomly initialised classifier explains nothing; tests build such ensembles).
        weights_dir: Offline machines: a folder of ``<name>.pdparams`` files. Entries without
            ``weights`` take ``<weights_dir>/<name>.pdparams`` instead of ``pretrained: true``
            (paddle.vision's download), so a shipped ensemble runs without editing each entry.

    Returns:
        One :class:`ClassifierSpec` per entry, in order.

    Raises:
        EnsembleConfigError: naming the entry (``ensemble[i]``), the key, the value and the fix.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise _config_error("ensemble", f"num_classes must be an integer >= 2, got {num_classes!r}")
    if isinstance(cfg_list, dict) or not isinstance(cfg_list, (list, tuple)) or not cfg_list:
        raise _config_error("ensemble",
            f"ensemble must be a non-empty list of classifiers (- arch: resnet50 ...), "
            f"got {type(cfg_list).__name__}: {cfg_list!r:.200}")
    specs: List[ClassifierSpec] = []
    seen: Dict[str, int] = {}
    for i, entry in enumerate(cfg_list):
        where = f"ensemble[{i}]"
        if isinstance(entry, str):
            entry = {"arch": entry}  # shorthand: '- resnet50'
        if not isinstance(entry, dict):
            raise _config_error(where, f"{where} must be a mapping with at least 'arch', "
                                      f"got {entry!r}")
        unknown = [k for k in entry if k not in SPEC_KEYS]
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(str(key), SPEC_KEYS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            extra = (" (the class count comes from the dataset's class list)"
                     if key == "num_classes" else "")
            raise _config_error(where,
                f"{where} has unknown key {key!r}{extra}; {hint}allowed keys: {list(SPEC_KEYS)}")
        if "arch" not in entry:
            raise _config_error(where, f"{where} has no 'arch' (e.g. arch: resnet50, or "
                                      f"arch: my_pkg.nets:build)")
        arch = entry["arch"]
        try:
            resolve_factory(arch)
        except EnsembleConfigError as exc:
            raise _config_error(f"{where}.arch", f"{where}.arch: {exc}") from None

        name = entry.get("name") or (arch.partition(":")[2] if ":" in arch else arch)
        if not isinstance(name, str):
            raise _config_error(f"{where}.name", f"{where}.name must be a string, got {name!r}")
        if name in seen:
            raise _config_error(f"{where}.name",
                f"{where}.name {name!r} is already used by ensemble[{seen[name]}]; give one of "
                f"them a distinct 'name:'")
        seen[name] = i

        weights = entry.get("weights")
        pretrained = entry.get("pretrained", False)
        if weights is None and weights_dir:
            weights = os.path.join(os.fspath(weights_dir), f"{name}.pdparams")
            pretrained = False
        if weights is not None:
            if not isinstance(weights, (str, os.PathLike)):
                raise _config_error(f"{where}.weights", f"{where}.weights must be a path or null, "
                                          f"got {weights!r}")
            weights = os.path.expanduser(os.path.expandvars(os.fspath(weights)))
            if not os.path.isfile(weights):
                raise _config_error(f"{where}.weights",
                    f"{where}.weights: file {weights!r} does not exist (model {name!r}); fix the "
                    f"path, or set weights: null and pretrained: true on a machine with internet")
        if not isinstance(pretrained, bool):
            raise _config_error(f"{where}.pretrained", f"{where}.pretrained must be true or false, "
                                      f"got {pretrained!r}")
        if pretrained and weights is not None:
            raise _config_error(where,
                f"{where} sets both weights ({weights!r}) and pretrained: true; keep one")
        if require_weights and weights is None and not pretrained:
            raise _config_error(where,
                f"{where} ({name!r}) has neither weights nor pretrained: true; a randomly "
                f"initialised classifier gives meaningless labels")

        input_size = entry.get("input_size", 224)
        if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < 16:
            raise _config_error(f"{where}.input_size", f"{where}.input_size must be an integer >= 16, "
                                      f"got {input_size!r}")
        mean = _triple(entry.get("mean", IMAGENET_MEAN), where, "mean")
        std = _triple(entry.get("std", IMAGENET_STD), where, "std")
        if any(s <= 0 for s in std):
            raise _config_error(f"{where}.std", f"{where}.std must be positive, got {list(std)}")
        resize = entry.get("resize", "keep_aspect")
        if resize not in RESIZE_MODES:
            raise _config_error(f"{where}.resize", f"{where}.resize must be one of {list(RESIZE_MODES)}, "
                                      f"got {resize!r}")
        kwargs = entry.get("kwargs") or {}
        if not isinstance(kwargs, dict):
            raise _config_error(f"{where}.kwargs", f"{where}.kwargs must be a mapping, got {kwargs!r}")
        for reserved in ("num_classes", "class_num", "pretrained"):
            if reserved in kwargs:
                raise _config_error(f"{where}.kwargs",
                    f"{where}.kwargs must not set {reserved!r}: it is derived from the dataset "
                    f"and the 'pretrained' key")
        specs.append(ClassifierSpec(name=name, arch=arch, weights=weights, pretrained=pretrained,
                                    num_classes=num_classes, input_size=input_size, mean=mean,
                                    std=std, resize=resize, kwargs=dict(kwargs)))
    return specs


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------

def _first_output_layer():
    import paddle

    class FirstOutput(paddle.nn.Layer):
        """Wraps a classifier whose forward returns a list/tuple (GoogLeNet's auxiliary heads)
        so that it returns only the main logits, as explainers (and InterpretDL) expect."""

        def __init__(self, inner: "paddle.nn.Layer"):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            out = self.inner(x)
            return out[0] if isinstance(out, (list, tuple)) else out

    return FirstOutput


def _call_factory(spec: ClassifierSpec, factory: Callable[..., Any]):
    kwargs = dict(spec.kwargs)
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        params = {}
    var_kw = any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params.values())
    if "num_classes" in params or var_kw and "class_num" not in params:
        kwargs["num_classes"] = spec.num_classes
    elif "class_num" in params:  # PaddleClas spelling
        kwargs["class_num"] = spec.num_classes
    if "pretrained" in params or var_kw:
        kwargs["pretrained"] = spec.pretrained
    elif spec.pretrained:
        raise ClassifierBuildError(
            f"model {spec.name!r}: factory {spec.arch!r} takes no 'pretrained' argument; give "
            f"weights: <path.pdparams> instead")
    try:
        return factory(**kwargs)
    except Exception as exc:  # noqa: BLE001 - re-raised with the model's name
        raise ClassifierBuildError(
            f"model {spec.name!r}: {spec.arch}(**{kwargs}) failed: {type(exc).__name__}: {exc}"
        ) from exc


def _load_weights(model, spec: ClassifierSpec) -> None:
    import paddle

    try:
        state = paddle.load(spec.weights)
    except Exception as exc:  # noqa: BLE001
        raise ClassifierBuildError(
            f"model {spec.name!r}: cannot read weights {spec.weights!r}: {exc}",
            about_weights=True) from exc
    if isinstance(state, dict) and len(state) == 1 and isinstance(
            next(iter(state.values())), dict):  # {'state_dict': {...}} / {'model': {...}}
        state = next(iter(state.values()))
    if not isinstance(state, dict):
        raise ClassifierBuildError(
            f"model {spec.name!r}: weights {spec.weights!r} hold a {type(state).__name__}, "
            f"expected a state dict (paddle.save(model.state_dict(), path))",
            about_weights=True)
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [f"{k}: file {list(np.shape(state[k]))} vs model {list(own[k].shape)}"
                  for k in own if k in state and list(np.shape(state[k])) != list(own[k].shape)]
    if missing or mismatched:
        detail = []
        if missing:
            detail.append(f"{len(missing)} missing keys (first: {missing[:3]})")
        if mismatched:
            detail.append(f"{len(mismatched)} shape mismatches (first: {mismatched[:3]})")
        raise ClassifierBuildError(
            f"model {spec.name!r}: weights {spec.weights!r} do not fit arch {spec.arch!r} with "
            f"{spec.num_classes} classes: {'; '.join(detail)}", about_weights=True)
    if unexpected:
        warnings.warn(f"model {spec.name!r}: weights {spec.weights!r} have {len(unexpected)} "
                      f"keys the model does not use (first: {unexpected[:3]}); ignored",
                      stacklevel=3)
    model.set_state_dict({k: state[k] for k in own})


def build_classifier(spec: ClassifierSpec, *, check_size: Optional[int] = None):
    """Build, load, freeze and check one classifier.

    The returned layer is in eval mode with every parameter frozen (``stop_gradient=True``), so
    explainers compute input gradients only. Networks returning several outputs (GoogLeNet's
    auxiliary heads) are wrapped to return the main logits.

    Args:
        spec: The classifier to build.
        check_size: Side of the square dummy input used to check the output size (default:
            ``spec.input_size``; a smaller side makes the check faster for nets that accept it).

    Returns:
        A ``paddle.nn.Layer`` mapping (N, 3, H, W) float32 to (N, num_classes) logits.

    Raises:
        ClassifierBuildError: factory failure, unreadable or ill-fitting weights, or an output
            size different from ``spec.num_classes`` (naming the model and both sizes).
    """
    import paddle

    if spec.weights is not None and not os.path.isfile(spec.weights):
        raise ClassifierBuildError(
            f"model {spec.name!r}: weights file {spec.weights!r} does not exist",
            about_weights=True)
    model = _call_factory(spec, resolve_factory(spec.arch))
    if not isinstance(model, paddle.nn.Layer):
        raise ClassifierBuildError(
            f"model {spec.name!r}: {spec.arch} returned {type(model).__name__}, expected a "
            f"paddle.nn.Layer")
    if spec.weights is not None:
        _load_weights(model, spec)
    model.eval()
    for param in model.parameters():
        param.stop_gradient = True

    side = int(check_size or spec.input_size)
    with paddle.no_grad():
        try:
            out = model(paddle.zeros([1, 3, side, side], dtype="float32"))
        except Exception as exc:  # noqa: BLE001
            raise ClassifierBuildError(
                f"model {spec.name!r} ({spec.arch}) fails on a 1x3x{side}x{side} input: "
                f"{type(exc).__name__}: {str(exc)[:300]}") from exc
    if isinstance(out, (list, tuple)):
        model = _first_output_layer()(model)
        model.eval()
        out = out[0]
    shape = list(out.shape)
    if len(shape) != 2 or shape[1] != spec.num_classes:
        raise ClassifierBuildError(
            f"model {spec.name!r} ({spec.arch}) outputs shape {shape} for one image, expected "
            f"[1, {spec.num_classes}] (the dataset's class count); use weights trained on this "
            f"class list, or a factory with the right number of classes")
    return model


def weights_checksum(spec: ClassifierSpec) -> Optional[str]:
    """SHA-256 hex digest of ``spec.weights`` (for the manifest), or None without a file."""
    if spec.weights is None:
        return None
    digest = hashlib.sha256()
    with open(spec.weights, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
