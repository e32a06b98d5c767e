"""PaddleSeg's SegBuilder, taught that a dataset's class count can live in its data.

PSSL's class count is the lines of ``synsets.txt`` (1000 + background for ImageNet-1k), so a
class attribute ``NUM_CLASSES`` cannot fit every folder. A dataset class with
``label_space_for_config(dataset_cfg) -> (num_classes, ignore_index)`` (background last) has the
builder fill ``model.num_classes``, every loss's ``ignore_index`` / ``background_index`` (MixedLoss
members too) and every train transform's ``label_padding_value``; a YAML value that disagrees
stops the run with :class:`LabelSpaceMismatch`. :data:`FIX` installs this on PaddleSeg's own
class; the model is built under :func:`output_layer.building`. :data:`TRAIN_FIX` checks what
``core.train`` is given.
"""
import copy
import dataclasses
import functools
import inspect
import math
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

import paddle
from paddleseg.cvlibs.builder import SegBuilder
from paddleseg.utils import utils as seg_utils
from paddleseg.utils.utils import CachedProperty as cached_property

from paddleseg_pssl.compat.patching import Fix, always, original
from paddleseg_pssl.constants import IGNORE_INDEX
from paddleseg_pssl.errors import PSSLConfigError
from paddleseg_pssl.training import output_layer, sample_guard
from paddleseg_pssl.training.config_checks import validate_components, validate_paths

LABEL_SPACE_HOOK = "label_space_for_config"
LABEL_PADDING_KEY = "label_padding_value"
BACKGROUND_KEY = "background_index"
CLASS_WEIGHTS_KEY = "weight"

#: The replaced ``SegBuilder`` members, and ``core.train`` in its module and its package.
INIT, MODEL, BUILD_LOSS = (f"paddleseg.cvlibs.builder:SegBuilder.{name}"
                           for name in ("__init__", "model", "_build_loss"))
TRAIN, PACKAGE_TRAIN = "paddleseg.core.train:train", "paddleseg.core:train"

#: Image channels when the dataset does not say (RGB, as PaddleSeg's builder assumes).
DEFAULT_IMG_CHANNELS = 3


class LabelSpaceMismatch(PSSLConfigError):
    """A YAML value disagrees with the class count or ignore index the data implies."""


@dataclasses.dataclass(frozen=True)
class LabelSpace:
    """What the training data implies: output count, ignored label, background class."""

    num_classes: int
    ignore_index: int

    @property
    def background_index(self) -> int:
        """Background is the last class (after every object class)."""
        return self.num_classes - 1


def _accepts(component_class: Any, parameter: str) -> bool:
    try:
        target = component_class.__init__ if inspect.isclass(component_class) \
            else component_class
        return parameter in inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False


def resolve_label_space(builder: SegBuilder) -> Optional[LabelSpace]:
    """The label space the train dataset's data implies, or None (class attributes rule)."""
    if builder.config is None:
        return None  # a builder used only for build_component, as PaddleSeg allows
    dataset_cfg = builder.config.train_dataset_cfg
    if not dataset_cfg or "type" not in dataset_cfg:
        return None
    # An unknown type is reported by the stock builder when the dataset is built.
    hook = getattr(_load_or_none(builder, dataset_cfg["type"]), LABEL_SPACE_HOOK, None)
    if hook is None:
        return None
    # The hook reads the data's folders: misspelt keys and missing folders are named first.
    validate_components(builder.config, sections=("train_dataset",))
    validate_paths(builder.config)
    return LabelSpace(*hook(dataset_cfg))


def _loss_cfgs(loss_section: dict) -> Iterator[dict]:
    for loss_cfg in loss_section.get("types", []) or []:
        if loss_cfg.get("type") == "MixedLoss":
            yield from loss_cfg.get("losses", [])
        else:
            yield loss_cfg


def _data_says(space: LabelSpace) -> str:
    return (f"the train dataset has {space.num_classes} classes "
            f"({space.num_classes - 1} object classes + background {space.background_index}, "
            f"ignore index {space.ignore_index})")


def _refuse_mismatch(given: Any, expected: int, space: LabelSpace, found: str, fix: str,
                     also_accepted: Tuple[int, ...] = ()) -> None:
    """Raise when ``given`` (None: unset) disagrees with the data; ``found`` has a ``{given}``
    field, ``fix`` says what to change."""
    if given is not None and given != expected and given not in also_accepted:
        raise LabelSpaceMismatch(f"{found.replace('{given}', str(given))} but "
                                 f"{_data_says(space)}; {fix}")


def _check_or_fill(cfg: Dict[str, Any], key: str, expected: int, space: LabelSpace,
                   found: str, fix: str, also_accepted: Tuple[int, ...] = ()) -> None:
    """Refuse a ``cfg[key]`` that disagrees with the data, then set it to ``expected``."""
    _refuse_mismatch(cfg.get(key), expected, space, found, fix, also_accepted)
    cfg[key] = expected


def apply_label_space(dic: Dict[str, Any], space: LabelSpace,
                      load_class: Callable[[str], Any]) -> None:
    """Fill the model, loss and train-transform keys of a config dict from ``space``
    (:class:`LabelSpaceMismatch` when the config disagrees)."""
    model_cfg = dic.setdefault("model", {})
    _check_or_fill(model_cfg, "num_classes", space.num_classes, space,
                   "model.num_classes is {given}",
                   "remove model.num_classes from the config (it is read from the data)")
    for loss_cfg in _loss_cfgs(dic.get("loss", {})):
        _fill_loss(loss_cfg, space, load_class)
    transforms = dic.get("train_dataset", {}).get("transforms", []) or []
    for index, transform_cfg in enumerate(transforms):
        if _accepts(load_class(transform_cfg["type"]), LABEL_PADDING_KEY):
            _check_or_fill(transform_cfg, LABEL_PADDING_KEY, space.ignore_index, space,
                           f"train_dataset.transforms[{index}] {transform_cfg['type']} has "
                           f"{LABEL_PADDING_KEY} {{given}}",
                           f"remove {LABEL_PADDING_KEY} (padding takes the ignore index)",
                           also_accepted=(IGNORE_INDEX,))


def _fill_loss(loss_cfg: Dict[str, Any], space: LabelSpace,
               load_class: Callable[[str], Any]) -> None:
    """Fill one loss config's ignore and background index from ``space``, check its weights."""
    name = loss_cfg.get("type")
    _check_or_fill(loss_cfg, "ignore_index", space.ignore_index, space,
                   f"loss {name} has ignore_index {{given}}",
                   "remove ignore_index from the loss config")
    weights = loss_cfg.get(CLASS_WEIGHTS_KEY)
    _refuse_mismatch(len(weights) if isinstance(weights, (list, tuple)) else None,
                     space.num_classes, space, f"loss {name} has {{given}} class weights",
                     f"use WeightedCrossEntropyLoss with background_weight (sized from the "
                     f"data) or give {space.num_classes} weights")
    loss_class = load_class(name) if isinstance(name, str) else None
    if loss_class is not None and _accepts(loss_class, BACKGROUND_KEY):
        _check_or_fill(loss_cfg, BACKGROUND_KEY, space.background_index, space,
                       f"loss {name} has {BACKGROUND_KEY} {{given}}",
                       f"remove {BACKGROUND_KEY} from the loss config")


def _init(self, config, comp_list=None) -> None:
    original(INIT)(self, config, comp_list)
    self.label_space = resolve_label_space(self)
    if self.label_space is not None:
        apply_label_space(self.config.dic, self.label_space,
                          functools.partial(_load_or_none, self))


def _load_or_none(builder: SegBuilder, class_type: str) -> Any:
    try:
        return builder.load_component_class(class_type)
    except RuntimeError:
        return None


def _model(self) -> paddle.nn.Layer:
    model_class = _load_or_none(self, self.config.model_cfg.get("type", ""))
    with output_layer.building(model_class, output_class_count(self)):
        return _build_model(self)


def _build_model(self) -> paddle.nn.Layer:
    if getattr(self, "label_space", None) is None:
        return original(MODEL).func(self)
    model_cfg = copy.deepcopy(self.config.model_cfg)
    if seg_utils.get_in_channels(model_cfg) is None:
        in_channels = getattr(self.train_dataset_class, "IMG_CHANNELS", DEFAULT_IMG_CHANNELS)
        model_cfg = seg_utils.set_in_channels(model_cfg, in_channels)
    self.show_msg("model", model_cfg)
    return self.build_component(model_cfg)


_model.__name__ = "model"  # CachedProperty caches under the function's name


def _build_loss(self, loss_name: str, loss_cfg: dict) -> dict:
    if getattr(self, "label_space", None) is None:
        return original(BUILD_LOSS)(self, loss_name, loss_cfg)
    # ignore_index and background_index were filled and validated by apply_label_space.
    self.show_msg(loss_name, loss_cfg)
    return {"coef": loss_cfg["coef"],
            "types": [self.build_component(item) for item in loss_cfg["types"]]}


def output_class_count(builder: SegBuilder) -> Optional[int]:
    """Outputs of the config's model, in the builders' order: ``model.num_classes``, the data's
    label space, the train then val dataset's ``num_classes`` or ``NUM_CLASSES``; else None."""
    config = builder.config
    given = config.dic.get("model", {}).get("num_classes")
    if isinstance(given, int):
        return given
    space = getattr(builder, "label_space", None)
    if space is not None:
        return space.num_classes
    for dataset_cfg in (config.train_dataset_cfg, config.val_dataset_cfg):
        if isinstance(dataset_cfg.get("num_classes"), int):
            return dataset_cfg["num_classes"]
        dataset_class = _load_or_none(builder, dataset_cfg["type"]) if "type" in dataset_cfg \
            else None
        if isinstance(getattr(dataset_class, "NUM_CLASSES", None), int):
            return dataset_class.NUM_CLASSES
    return None


def _loss_layers(losses: Optional[dict]) -> Iterator[Any]:
    for loss in (losses or {}).get("types", []) or []:
        yield from getattr(loss, "losses", None) or [loss]  # MixedLoss members


def check_built(model: paddle.nn.Layer, train_dataset: Any, losses: Optional[dict]) -> None:
    """Refuse a model or losses built without the builder that disagree with the train data
    (model ``num_classes``; each loss's indices and weight count): :class:`LabelSpaceMismatch`."""
    if not hasattr(type(train_dataset), LABEL_SPACE_HOOK):
        return
    space = LabelSpace(train_dataset.num_classes, train_dataset.ignore_index)
    given = getattr(model, "num_classes", None)
    _refuse_mismatch(given if isinstance(given, int) else None, space.num_classes, space,
                     "the model has {given} outputs",
                     f"build it with num_classes {space.num_classes}")
    for loss in _loss_layers(losses):
        name = type(loss).__name__
        for key, expected in (("ignore_index", space.ignore_index),
                              (BACKGROUND_KEY, space.background_index)):
            value = getattr(loss, key, None)
            _refuse_mismatch(value if isinstance(value, int) else None, expected, space,
                             f"loss {name} has {key} {{given}}", f"build it with {key} {expected}")
        weights = getattr(loss, CLASS_WEIGHTS_KEY, None)
        _refuse_mismatch(weights.shape[0] if isinstance(weights, paddle.Tensor) else None,
                         space.num_classes, space, f"loss {name} has {{given}} class weights",
                         "use WeightedCrossEntropyLoss with background_weight")


def check_enough_samples(train_dataset: Any, batch_size: int, processes: int) -> None:
    """Refuse a train dataset too small for one batch per process: PaddleSeg drops the last
    incomplete batch, so its training loop would wait for a first batch for ever."""
    try:
        samples = len(train_dataset)
    except TypeError:
        return  # an iterable dataset: nothing to count
    per_process = math.ceil(samples / max(1, processes))
    if per_process < batch_size:
        raise PSSLConfigError(
            f"the train dataset has {samples} samples, {per_process} per process "
            f"({processes} processes): fewer than one batch (batch_size {batch_size}), so "
            "training would never start; lower batch_size or train on more samples")


def guarded_train(*args, **kwargs):
    """PaddleSeg's ``core.train`` after :func:`check_built` and :func:`check_enough_samples`,
    reading the train dataset through :func:`sample_guard.guarded`."""
    train = original(TRAIN)
    signature = inspect.signature(train)
    bound = signature.bind(*args, **kwargs)
    arguments = bound.arguments
    check_built(arguments.get("model"), arguments.get("train_dataset"), arguments.get("losses"))
    if arguments.get("train_dataset") is not None:
        batch_size = arguments.get("batch_size", signature.parameters["batch_size"].default)
        check_enough_samples(arguments["train_dataset"], batch_size,
                             paddle.distributed.get_world_size())
        arguments["train_dataset"] = sample_guard.guarded(arguments["train_dataset"])
    return train(*bound.args, **bound.kwargs)


FIX = Fix(name="cvlibs.SegBuilder:label-space-from-data", upstream="", is_needed=always,
          patches={INIT: _init, MODEL: cached_property(_model), BUILD_LOSS: _build_loss})
TRAIN_FIX = Fix(name="core.train:checked-components", upstream="", is_needed=always,
                patches={TRAIN: guarded_train, PACKAGE_TRAIN: guarded_train})

#: The name our tools use; ``import paddleseg_pssl`` installs :data:`FIX` on the class itself.
PSSLSegBuilder = SegBuilder
