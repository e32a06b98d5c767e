"""A model built from a config never takes its output layer from ``model.pretrained``.

A whole-model checkpoint (a PSSL pre-training) transfers backbone and head, but its output layer
predicts the pre-training classes, meaningless downstream even when the counts agree (PaddleSeg
skips it only when shapes differ). While the builder builds the config's model, every ``Conv2D``
with ``num_classes`` outputs keeps its initialisation (logged). ``--model_path`` of evaluation
and export loads in full, after the build.
"""
import contextlib
import contextvars
import dataclasses
import os
from typing import Dict, Iterator, Optional

import paddle
from paddleseg.utils import logger

from paddleseg_pssl.compat.patching import Fix, always, original

#: Set to 1 / true / yes / on to load the output layer from ``model.pretrained`` as PaddleSeg does.
KEEP_ENV = "PADDLESEG_PSSL_KEEP_OUTPUT_LAYER"
_TRUE_WORDS = ("1", "true", "yes", "on")

STOCK = "paddleseg.utils.utils:load_pretrained_model"


@dataclasses.dataclass(frozen=True)
class _Building:
    model_class: type
    num_classes: int


_BUILDING: contextvars.ContextVar[Optional[_Building]] = contextvars.ContextVar(
    "pssl_model_being_built", default=None)


def output_layers(model: paddle.nn.Layer, num_classes: int) -> Dict[str, paddle.nn.Conv2D]:
    """The convolutions of ``model`` that output ``num_classes`` channels, by sublayer name."""
    return {name: layer for name, layer in model.named_sublayers()
            if isinstance(layer, paddle.nn.Conv2D) and layer._out_channels == num_classes}


def keep_requested() -> bool:
    """True when ``PADDLESEG_PSSL_KEEP_OUTPUT_LAYER`` asks for PaddleSeg's behaviour."""
    return os.environ.get(KEEP_ENV, "").strip().lower() in _TRUE_WORDS


@contextlib.contextmanager
def building(model_class: Optional[type], num_classes: Optional[int]) -> Iterator[None]:
    """While the config's model is built, its pretrained load leaves out the output layers
    (unless the class or ``num_classes`` is unknown)."""
    known = isinstance(model_class, type) and bool(num_classes)
    token = _BUILDING.set(_Building(model_class, num_classes) if known else None)
    try:
        yield
    finally:
        _BUILDING.reset(token)


def _load_pretrained_model(model: paddle.nn.Layer, pretrained_model: Optional[str]) -> None:
    target = _BUILDING.get()
    if (pretrained_model is None or target is None or keep_requested()
            or not isinstance(model, target.model_class)):
        original(STOCK)(model, pretrained_model)
        return
    layers = output_layers(model, target.num_classes)
    initial = {f"{name}.{key}": value.clone() for name, layer in layers.items()
               for key, value in layer.state_dict().items()}
    original(STOCK)(model, pretrained_model)
    model.set_state_dict(initial)
    logger.info(f"paddleseg_pssl: output layers of {type(model).__name__} kept at their "
                f"initialisation, not loaded from {pretrained_model}: {sorted(layers)} "
                f"({KEEP_ENV}=1 loads them)")


FIX = Fix(name="utils.load_pretrained_model:output-layer-not-transferred", upstream="",
          is_needed=always, patches={STOCK: _load_pretrained_model})
