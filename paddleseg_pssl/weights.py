"""Weights files: the one reader of ``.pdparams`` state dicts and strict loader into a model.

:func:`load_weights` names the file and every key it cannot load, where PaddleSeg's
``load_entire_model`` warns and goes on with random weights.
"""
import dataclasses
from typing import Any, Callable, Dict, List, Optional, Tuple

import paddle

from paddleseg_pssl.errors import PSSLConfigError

#: How many key names a message quotes.
_KEYS_QUOTED = 3

DEFAULT_FIX = "use the config the checkpoint was trained with"


@dataclasses.dataclass
class WeightsFit:
    """How a state dict's keys fit a model's: ``loaded`` (right shape), ``missing`` (model keys
    the file lacks), ``unexpected`` (file keys the model lacks), ``mismatched`` (key -> (file
    shape, model shape))."""

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
    """The state dict saved at ``path``, also when it is wrapped in a one-key dict
    (``{'state_dict': ...}``, ``{'model': ...}``)."""
    try:
        state = paddle.load(path)
    except Exception as exc:  # paddle raises assorted types for a bad file
        raise PSSLConfigError(f"cannot read weights {path!r} (expected a .pdparams "
                              f"state dict): {exc}") from exc
    if isinstance(state, dict) and len(state) == 1 and isinstance(next(iter(state.values())), dict):
        state = next(iter(state.values()))
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


def load_weights(model: Any, path: str, *, partial: bool = False, fix: str = DEFAULT_FIX,
                 convert: Optional[Callable[[Dict[str, Any]], Dict[str, Any]]] = None
                 ) -> WeightsFit:
    """Load the ``.pdparams`` at ``path`` into ``model``; returns how the keys fit. Every model
    parameter must fit, unless ``partial`` (then only nothing fitting is an error); ``fix`` ends
    the error message; ``convert`` renames the file's keys first."""
    state = read_state_dict(path)
    if convert is not None:
        state = convert(state)
    fit = fit_state_dict(model, state)
    if (fit.missing or fit.mismatched) and not (partial and fit.loaded):
        raise PSSLConfigError(f"weights {path!r} do not fit the model ({type(model).__name__}): "
                              f"{fit.describe()}; {fix}")
    model.set_state_dict({key: state[key] for key in fit.loaded})
    return fit
