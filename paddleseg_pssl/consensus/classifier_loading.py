"""Building blocks of :func:`.ensemble.build_classifier` (PSSL ensemble, arXiv 2207.03335).

Calling a classifier factory with the dataset's class count, loading a weights file strictly
(:mod:`paddleseg_pssl.weights`: every model key present with its shape), keeping only the main output of networks with
auxiliary heads, and the weights file's checksum recorded in the manifest.
"""
import hashlib
import inspect
import warnings
from typing import Any, Callable, Optional

from paddleseg_pssl.consensus.ensemble import ClassifierBuildError, ClassifierSpec
from paddleseg_pssl.errors import PSSLConfigError
from paddleseg_pssl.weights import fit_state_dict, read_state_dict


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
    try:
        state = read_state_dict(spec.weights)
    except PSSLConfigError as exc:
        raise ClassifierBuildError(f"model {spec.name!r}: {exc}", about_weights=True) from exc
    fit = fit_state_dict(model, state)
    if fit.missing or fit.mismatched:
        raise ClassifierBuildError(
            f"model {spec.name!r}: weights {spec.weights!r} do not fit arch {spec.arch!r} with "
            f"{spec.num_classes} classes: {fit.describe()}", about_weights=True)
    if fit.unexpected:
        warnings.warn(f"model {spec.name!r}: weights {spec.weights!r} have "
                      f"{len(fit.unexpected)} keys the model does not use (first: "
                      f"{fit.unexpected[:3]}); ignored", stacklevel=3)
    model.set_state_dict({key: state[key] for key in fit.loaded})


def weights_checksum(spec: ClassifierSpec) -> Optional[str]:
    """SHA-256 hex digest of ``spec.weights`` (for the manifest), or None without a file."""
    if spec.weights is None:
        return None
    digest = hashlib.sha256()
    with open(spec.weights, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
