"""Weights files: the one strict loader, and a checkpoint's backbone as a file of its own.

:func:`load_weights` loads a ``.pdparams`` state dict into a model and reports, with the file
name, every key it cannot load (missing, unexpected, wrong shape), where PaddleSeg's
``load_entire_model`` warns and goes on with random weights. A caller that loads part of a
model on purpose says so with ``partial=True``.

A PSSL checkpoint (arXiv 2207.03335) pre-trains the backbone and the head together; writing
its backbone alone lets a fine-tune start from the PSSL backbone with a random head, which
separates what the pre-trained head adds from what the pre-trained backbone adds.
"""
import dataclasses
import os
from typing import Any, Dict, List, Tuple

from paddleseg_pssl.errors import PSSLConfigError

#: Key prefix of the backbone's weights in PaddleSeg models (``self.backbone``).
BACKBONE_PREFIX = "backbone."

#: How many key names a message quotes.
_KEYS_QUOTED = 3

#: What to do about weights that do not fit, unless the caller says otherwise.
DEFAULT_FIX = "use the config the checkpoint was trained with"


@dataclasses.dataclass
class WeightsFit:
    """How a state dict's keys fit a model's.

    Attributes:
        loaded: Model keys the file holds with the right shape.
        missing: Model keys the file lacks.
        unexpected: File keys the model lacks.
        mismatched: Key -> (file shape, model shape), for keys of both with other shapes.
    """

    loaded: List[str] = dataclasses.field(default_factory=list)
    missing: List[str] = dataclasses.field(default_factory=list)
    unexpected: List[str] = dataclasses.field(default_factory=list)
    mismatched: Dict[str, Tuple[List[int], List[int]]] = dataclasses.field(default_factory=dict)

    def describe(self) -> str:
        """Counts and first names of the keys that do not fit; empty when all fit."""
        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} parameters missing "
                         f"(e.g. {self.missing[:_KEYS_QUOTED]})")
        if self.mismatched:
            shapes = [f"{k}: file {f} vs model {m}"
                      for k, (f, m) in list(self.mismatched.items())[:_KEYS_QUOTED]]
            parts.append(f"{len(self.mismatched)} shape mismatches (e.g. {shapes})")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} keys the model does not have "
                         f"(e.g. {self.unexpected[:_KEYS_QUOTED]})")
        return "; ".join(parts)


def read_state_dict(path: str) -> Dict[str, Any]:
    """The state dict saved at ``path`` (``paddle.save(model.state_dict(), path)``).

    Raises:
        PSSLConfigError: The file cannot be read or holds something else than a dict.
    """
    import paddle

    try:
        state = paddle.load(path)
    except Exception as exc:  # paddle raises assorted types for a bad file
        raise PSSLConfigError(f"cannot read weights {path!r} (expected a .pdparams "
                              f"state dict): {exc}") from exc
    if not isinstance(state, dict):
        raise PSSLConfigError(f"weights {path!r} hold a {type(state).__name__}; "
                              "expected a state dict (.pdparams)")
    return state


def fit_state_dict(model: Any, state: Dict[str, Any]) -> WeightsFit:
    """Compare ``state``'s keys and shapes with ``model.state_dict()``."""
    own = model.state_dict()
    fit = WeightsFit(unexpected=[k for k in state if k not in own])
    for key, target in own.items():
        if key not in state:
            fit.missing.append(key)
            continue
        shape, wanted = list(state[key].shape), list(target.shape)
        if shape != wanted:
            fit.mismatched[key] = (shape, wanted)
        else:
            fit.loaded.append(key)
    return fit


def load_weights(model: Any, path: str, *, partial: bool = False,
                 fix: str = DEFAULT_FIX) -> WeightsFit:
    """Load the ``.pdparams`` at ``path`` into ``model``; returns how the keys fit.

    Args:
        model: A ``paddle.nn.Layer``.
        path: The weights file.
        partial: False: every model parameter must be in the file with the model's shape
            (keys the model does not have are reported in the returned fit, not an error).
            True: load what fits and leave the rest at its initialisation, for callers that
            load part of a model on purpose; it is still an error when nothing fits.
        fix: The end of the error message: what the user should do.

    Raises:
        PSSLConfigError: Unreadable file, or weights that do not fit as ``partial`` requires,
            naming the file and the keys.
    """
    state = read_state_dict(path)
    fit = fit_state_dict(model, state)
    if (fit.missing or fit.mismatched) and not (partial and fit.loaded):
        raise PSSLConfigError(f"weights {path!r} do not fit the config's model: "
                              f"{fit.describe()}; {fix}")
    model.set_state_dict({key: state[key] for key in fit.loaded})
    return fit


def write_backbone_weights(checkpoint: str, output: str) -> int:
    """Save the ``backbone.*`` weights of ``checkpoint`` (prefix removed) to ``output``, the
    layout ``model.backbone.pretrained`` loads; returns how many tensors were written.

    Raises:
        PSSLConfigError: the checkpoint is missing or holds no ``backbone.*`` weights.
    """
    import paddle

    if not os.path.isfile(checkpoint):
        raise PSSLConfigError(f"checkpoint {checkpoint!r} does not exist")
    state = read_state_dict(checkpoint)
    backbone = {k[len(BACKBONE_PREFIX):]: v for k, v in state.items()
                if k.startswith(BACKBONE_PREFIX)}
    if not backbone:
        raise PSSLConfigError(f"checkpoint {checkpoint!r} holds no '{BACKBONE_PREFIX}*' weights; "
                              "expected a whole segmentation model's model.pdparams")
    partial = f"{output}.partial"
    paddle.save(backbone, partial)
    os.replace(partial, output)
    return len(backbone)
