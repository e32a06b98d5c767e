"""Building blocks of :func:`.ensemble.build_classifier` (PSSL ensemble, arXiv 2207.03335).

Calling a classifier factory with the dataset's class count, loading a weights file strictly
(every model key present with its shape), keeping only the main output of networks with
auxiliary heads, and the weights file's checksum recorded in the manifest.
"""
import hashlib
import inspect
import warnings
from typing import Any, Callable, Optional

import numpy as np

from paddleseg_pssl.consensus.ensemble import ClassifierBuildError, ClassifierSpec


def first_output_layer():
    """The wrapper class keeping the first output of a multi-output classifier."""
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


def weights_checksum(spec: ClassifierSpec) -> Optional[str]:
    """SHA-256 hex digest of ``spec.weights`` (for the manifest), or None without a file."""
    if spec.weights is None:
        return None
    digest = hashlib.sha256()
    with open(spec.weights, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
