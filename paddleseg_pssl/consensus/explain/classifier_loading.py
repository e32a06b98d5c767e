"""Building one classifier of the PSSL ensemble (arXiv 2207.03335) from its ``ClassifierSpec``,
and the checksum of its weights file (recorded in the manifest)."""
import hashlib
import inspect
import os
import warnings
from typing import Any, Callable, Optional

import paddle

from paddleseg_pssl.consensus.explain.ensemble import ClassifierSpec, resolve_factory
from paddleseg_pssl.errors import PSSLConfigError
from paddleseg_pssl import weights


class ClassifierBuildError(RuntimeError):
    """A classifier could not be built, loaded or checked; the message names the model.
    ``about_weights``: the weights file (missing, unreadable, ill-fitting) is at fault."""

    def __init__(self, message: str, *, about_weights: bool = False):
        super().__init__(message)
        self.about_weights = about_weights


class FirstOutput(paddle.nn.Layer):
    """Wraps a classifier whose forward returns a list/tuple (GoogLeNet's auxiliary heads)
    so that it returns only the main logits, as explainers (and InterpretDL) expect."""

    def __init__(self, inner: paddle.nn.Layer):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        out = self.inner(x)
        return out[0] if isinstance(out, (list, tuple)) else out


def call_factory(spec: ClassifierSpec, factory: Callable[..., Any]):
    """Call ``factory`` with the spec's kwargs plus the class count and ``pretrained`` in the
    spelling the factory takes (``num_classes`` or PaddleClas's ``class_num``)."""
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


def load_weights(model, spec: ClassifierSpec) -> None:
    """Load ``spec.weights`` into ``model``: every model key must be present with its shape
    (keys the model does not use are ignored with a warning)."""
    try:
        fit = weights.load_weights(model, spec.weights, fix=f"use weights of arch {spec.arch!r} "
                                   f"with {spec.num_classes} classes")
    except PSSLConfigError as exc:
        raise ClassifierBuildError(f"model {spec.name!r}: {exc}", about_weights=True) from exc
    if fit.unexpected:
        warnings.warn(f"model {spec.name!r}: weights {spec.weights!r} have "
                      f"{len(fit.unexpected)} keys the model does not use (first: "
                      f"{fit.unexpected[:3]}); ignored", stacklevel=3)


def weights_checksum(spec: ClassifierSpec) -> Optional[str]:
    """SHA-256 hex digest of ``spec.weights`` (for the manifest), or None without a file."""
    if spec.weights is None:
        return None
    digest = hashlib.sha256()
    with open(spec.weights, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_classifier(spec: ClassifierSpec, *, check_size: Optional[int] = None):
    """Build, load, freeze (eval mode, every parameter ``stop_gradient``: explainers take
    input gradients only) and check one classifier: a ``paddle.nn.Layer`` mapping (N, 3, H, W)
    float32 to (N, num_classes) logits, raising :class:`ClassifierBuildError`."""
    if spec.weights is not None and not os.path.isfile(spec.weights):
        raise ClassifierBuildError(
            f"model {spec.name!r}: weights file {spec.weights!r} does not exist",
            about_weights=True)
    model = call_factory(spec, resolve_factory(spec.arch))
    if not isinstance(model, paddle.nn.Layer):
        raise ClassifierBuildError(
            f"model {spec.name!r}: {spec.arch} returned {type(model).__name__}, expected a "
            f"paddle.nn.Layer")
    if spec.weights is not None:
        load_weights(model, spec)
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
        model = FirstOutput(model)
        model.eval()
        out = out[0]
    shape = list(out.shape)
    if len(shape) != 2 or shape[1] != spec.num_classes:
        raise ClassifierBuildError(
            f"model {spec.name!r} ({spec.arch}) outputs shape {shape} for one image, expected "
            f"[1, {spec.num_classes}] (the dataset's class count); use weights trained on this "
            f"class list, or a factory with the right number of classes")
    return model
