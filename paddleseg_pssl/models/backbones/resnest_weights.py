"""Pretrained weights for the ResNeSt backbones: PaddleClas's names (after
``ppcls/arch/backbone/model_zoo/resnest.py``) renamed to ours by the rules below, and loading."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlparse

import paddle.nn as nn
from paddleseg.utils import logger
from paddleseg.utils.utils import download_pretrained_model

from paddleseg_pssl.weights import WeightsFit, load_weights

#: Key prefixes of a whole segmentation model's state dict (PaddleSeg's attribute names).
BACKBONE_PREFIX = "backbone."
HEAD_PREFIX = "head."

__all__ = ["convert_paddleclas_resnest_state_dict", "is_paddleclas_resnest_state_dict",
           "load_resnest_pretrained"]

_SAME = {k: k for k in ("weight", "bias", "_mean", "_variance")}  # BN/conv tensor suffixes
_BN_ATTR = {"scale": "weight", "offset": "bias", "mean": "_mean", "variance": "_variance"}
_BLOCK = r"layer(?P<stage>[1-4])_bottleneck_(?P<block>\d+)"

#: One renaming rule: (regex of a PaddleClas key, our key as a ``str.format`` template, table
#: for the ``p`` group or None); ``{pre}`` is the block prefix ``layerS.B``.
_Rule = Tuple[str, str, Optional[Mapping[str, str]]]


def _conv_bn_structured(layer: str, conv: str, bn: str) -> List[_Rule]:
    """A PaddleClas ``ConvBNLayer`` at attribute path ``layer`` (regex) -> our ``conv``, ``bn``."""
    return [(layer + r"\._conv\.weight", conv + ".weight", None),
            (layer + r"\._batch_norm\.(?P<p>\w+)", bn + ".{p}", _SAME)]


def _conv_bn_param_attr(name: str, conv: str, bn: str) -> List[_Rule]:
    """A ``ConvBNLayer`` with ParamAttr name ``name`` (regex) -> our ``conv``, ``bn``."""
    return [(name + "_weight", conv + ".weight", None),
            (name + "_(?P<p>scale|offset|mean|variance)", bn + ".{p}", _BN_ATTR)]


# PaddleClas dygraph checkpoints (ResNeSt50_pretrained.pdparams): attribute paths; the block
# prefix ``layerS.layerS_bottleneck_B.`` becomes ``layerS.B.``.
_STRUCTURED_BLOCK = rf"layer[1-4]\.{_BLOCK}"
_PADDLECLAS_STRUCTURED_RULES: List[_Rule] = [
    *_conv_bn_structured(r"stem\.conv(?P<i>[123])", "stem.conv{i}", "stem.bn{i}"),
    *_conv_bn_structured(rf"{_STRUCTURED_BLOCK}\.conv1", "{pre}.conv1", "{pre}.bn1"),
    *_conv_bn_structured(rf"{_STRUCTURED_BLOCK}\.conv2\.conv1", "{pre}.conv2.conv",
                         "{pre}.conv2.bn0"),
    *_conv_bn_structured(rf"{_STRUCTURED_BLOCK}\.conv2\.conv2", "{pre}.conv2.fc1",
                         "{pre}.conv2.bn1"),
    (rf"{_STRUCTURED_BLOCK}\.conv2\.conv3\.(?P<p>weight|bias)", "{pre}.conv2.fc2.{p}", _SAME),
    *_conv_bn_structured(rf"{_STRUCTURED_BLOCK}\.conv3", "{pre}.conv3", "{pre}.bn3"),
    (rf"{_STRUCTURED_BLOCK}\.conv4\.weight", "{pre}.downsample.conv.weight", None),
    (rf"{_STRUCTURED_BLOCK}\._batch_norm\.(?P<p>\w+)", "{pre}.downsample.bn.{p}", _SAME),
]

# Older static-graph exports keyed by the ParamAttr names that the same source sets.
_PADDLECLAS_PARAM_ATTR_RULES: List[_Rule] = [
    *_conv_bn_param_attr(r"conv(?P<i>[123])", "stem.conv{i}", "stem.bn{i}"),
    *_conv_bn_param_attr(rf"{_BLOCK}_conv1", "{pre}.conv1", "{pre}.bn1"),
    *_conv_bn_param_attr(rf"{_BLOCK}_splat_1_weights", "{pre}.conv2.conv", "{pre}.conv2.bn0"),
    *_conv_bn_param_attr(rf"{_BLOCK}_splat_2_weights", "{pre}.conv2.fc1", "{pre}.conv2.bn1"),
    (rf"{_BLOCK}_splat_weights", "{pre}.conv2.fc2.weight", None),
    *_conv_bn_param_attr(rf"{_BLOCK}_conv3", "{pre}.conv3", "{pre}.bn3"),
    (rf"{_BLOCK}_(?:shortcut_)?weights", "{pre}.downsample.conv.weight", None),
    (rf"{_BLOCK}_shortcut_(?P<p>scale|offset|mean|variance)", "{pre}.downsample.bn.{p}",
     _BN_ATTR),
]

_PADDLECLAS_HEAD = re.compile(r"(out\.(weight|bias)|fc_weights|fc_offset)")
_PADDLECLAS_MARKERS = re.compile(
    r"(stem\.conv[123]\._conv\.weight|layer[1-4]\.layer[1-4]_bottleneck_\d+\..*"
    r"|conv[123]_weight|layer[1-4]_bottleneck_\d+_.*)")


def is_paddleclas_resnest_state_dict(state_dict: Mapping[str, Any]) -> bool:
    """Whether ``state_dict`` uses PaddleClas's ResNeSt parameter names (either scheme)."""
    return any(_PADDLECLAS_MARKERS.fullmatch(key) for key in state_dict)


def _rename(key: str, rules: Sequence[_Rule]) -> Optional[str]:
    for pattern, template, suffixes in rules:
        match = re.fullmatch(pattern, key)
        if match is None:
            continue
        groups = match.groupdict()
        if suffixes is not None:
            if groups["p"] not in suffixes:
                return None
            groups["p"] = suffixes[groups["p"]]
        if "stage" in groups:
            groups["pre"] = f"layer{groups['stage']}.{groups['block']}"
        return template.format(**groups)
    return None


def convert_paddleclas_resnest_state_dict(state_dict: Mapping[str, Any]) -> Dict[str, Any]:
    """Rename a PaddleClas ResNeSt classifier state dict (either naming scheme) to our names,
    dropping the classifier; keys no rule matches are kept, for the loader to report."""
    converted: Dict[str, Any] = {}
    for key, value in state_dict.items():
        if _PADDLECLAS_HEAD.fullmatch(key):
            continue
        new_key = (_rename(key, _PADDLECLAS_STRUCTURED_RULES)
                   or _rename(key, _PADDLECLAS_PARAM_ATTR_RULES) or key)
        if new_key in converted:
            raise ValueError(f"two PaddleClas keys map to {new_key!r} (the second is {key!r}); "
                             "the state dict mixes naming schemes")
        converted[new_key] = value
    return converted


def _backbone_names(state_dict: Dict[str, Any]) -> Dict[str, Any]:
    """A segmentation model's ``backbone.`` keys without the prefix; PaddleClas names renamed."""
    if state_dict and all(k.startswith(BACKBONE_PREFIX) for k in state_dict
                          if not k.startswith(HEAD_PREFIX)):
        state_dict = {k[len(BACKBONE_PREFIX):]: v for k, v in state_dict.items()
                      if k.startswith(BACKBONE_PREFIX)}
    if is_paddleclas_resnest_state_dict(state_dict):
        state_dict = convert_paddleclas_resnest_state_dict(state_dict)
    return state_dict


def load_resnest_pretrained(model: nn.Layer, path: str) -> WeightsFit:
    """Load our names, PaddleClas's or a segmentation model's ``backbone.`` keys into a ResNeSt
    backbone (``path`` a ``.pdparams`` file or a URL); what fits is loaded, the rest logged."""
    if urlparse(path).netloc:
        path = download_pretrained_model(path)
    fit = load_weights(model, path, partial=True, convert=_backbone_names,
                       fix="expected our names or PaddleClas's ResNeSt names")
    name = type(model).__name__
    logger.info(f"Loaded {len(fit.loaded)} tensors into {name} from {path}")
    if fit.describe():
        logger.warning(f"{name} from {path}, left at their initialisation or ignored: "
                       f"{fit.describe()}")
    return fit
