"""PaddleSeg's SegBuilder, taught that a dataset's class count can live in its data.

Stock ``SegBuilder`` sizes the model (``num_classes``) and the losses' ``ignore_index`` from
the dataset *class* attributes ``NUM_CLASSES`` / ``IGNORE_INDEX``. PSSL's class count is a
property of the data (the lines of ``synsets.txt``: 1000 + background for ImageNet-1k, 10 + 1
for the miniature), so a class attribute cannot be right for every PSSL folder.

A dataset class may define ``label_space_for_config(dataset_cfg) -> (num_classes,
ignore_index)``. When the train dataset's class does, ``PSSLSegBuilder`` fills in, before
anything is built: ``model.num_classes``, every loss's ``ignore_index`` (MixedLoss members
too) and every train transform's ``label_padding_value`` (so crops and rotations pad with the
ignore index), and it validates values the YAML already gives. Other datasets build exactly
as with ``SegBuilder``. No YAML needs to write 1001.
"""
import copy
import inspect
from typing import Any, Dict, Optional, Tuple

import paddle
from paddleseg.cvlibs.builder import SegBuilder
from paddleseg.utils import utils as seg_utils
from paddleseg.utils.utils import CachedProperty as cached_property

from paddleseg_pssl.errors import PSSLConfigError

LABEL_SPACE_HOOK = "label_space_for_config"
LABEL_PADDING_KEY = "label_padding_value"


class LabelSpaceMismatch(PSSLConfigError):
    """A YAML value disagrees with the class count or ignore index the data implies."""


def _accepts(component_class: Any, parameter: str) -> bool:
    try:
        return parameter in inspect.signature(component_class.__init__).parameters
    except (TypeError, ValueError):
        return False


class PSSLSegBuilder(SegBuilder):
    """SegBuilder that takes ``num_classes`` / ``ignore_index`` from the data when it can."""

    def __init__(self, config, comp_list: Optional[list] = None) -> None:
        super().__init__(config, comp_list)
        self.label_space: Optional[Tuple[int, int]] = self._resolve_label_space()
        if self.label_space is not None:
            self._apply_label_space(*self.label_space)

    def _resolve_label_space(self) -> Optional[Tuple[int, int]]:
        dataset_cfg = self.config.train_dataset_cfg
        if not dataset_cfg or "type" not in dataset_cfg:
            return None
        hook = getattr(self.load_component_class(dataset_cfg["type"]), LABEL_SPACE_HOOK, None)
        return None if hook is None else tuple(hook(dataset_cfg))

    def _apply_label_space(self, num_classes: int, ignore_index: int) -> None:
        dic: Dict[str, Any] = self.config.dic
        model_cfg = dic.setdefault("model", {})
        given = model_cfg.get("num_classes")
        if given is not None and given != num_classes:
            raise LabelSpaceMismatch(
                f"model.num_classes is {given} but the train dataset implies {num_classes} "
                f"(object classes + background); remove model.num_classes from the config")
        model_cfg["num_classes"] = num_classes
        for loss_cfg in self._loss_cfgs(dic.get("loss", {})):
            given = loss_cfg.get("ignore_index")
            if given is not None and given != ignore_index:
                raise LabelSpaceMismatch(
                    f"loss {loss_cfg.get('type')} has ignore_index {given} but the train dataset "
                    f"uses {ignore_index}; remove ignore_index from the loss config")
            loss_cfg["ignore_index"] = ignore_index
        for transform_cfg in dic.get("train_dataset", {}).get("transforms", []) or []:
            transform_class = self.load_component_class(transform_cfg["type"])
            if _accepts(transform_class, LABEL_PADDING_KEY):
                transform_cfg.setdefault(LABEL_PADDING_KEY, ignore_index)

    @staticmethod
    def _loss_cfgs(loss_section: dict):
        for loss_cfg in loss_section.get("types", []) or []:
            if loss_cfg.get("type") == "MixedLoss":
                yield from loss_cfg.get("losses", [])
            else:
                yield loss_cfg

    @cached_property
    def model(self) -> paddle.nn.Layer:
        if self.label_space is None:
            return SegBuilder.model.__get__(self, type(self))
        model_cfg = copy.deepcopy(self.config.model_cfg)
        if seg_utils.get_in_channels(model_cfg) is None:
            in_channels = getattr(self.train_dataset_class, "IMG_CHANNELS", 3)
            model_cfg = seg_utils.set_in_channels(model_cfg, in_channels)
        self.show_msg("model", model_cfg)
        return self.build_component(model_cfg)

    def _build_loss(self, loss_name: str, loss_cfg: dict) -> dict:
        if self.label_space is None:
            return super()._build_loss(loss_name, loss_cfg)
        # ignore_index was filled and validated in _apply_label_space.
        self.show_msg(loss_name, loss_cfg)
        return {"coef": loss_cfg["coef"],
                "types": [self.build_component(item) for item in loss_cfg["types"]]}

