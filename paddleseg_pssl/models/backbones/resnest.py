"""ResNeSt backbones for PaddleSeg.

ResNeSt (Zhang et al., "ResNeSt: Split-Attention Networks", arXiv 2004.08955) is a
ResNet-D whose 3x3 bottleneck convolution is replaced by a *split-attention* block:
the convolution produces ``radix`` feature-map groups, a squeeze-and-excitation style
branch turns their sum into per-channel weights with a softmax across the radix
groups, and the output is the weighted sum of the groups. ResNeSt keeps ResNet-D's
deep stem (three 3x3 convolutions) and average-down shortcut (average pooling then a
1x1 convolution), and strides the bottleneck with an average pool ("avd") instead of
a strided convolution.

The PSSL paper (Li et al., arXiv 2207.03335) pre-trains DeepLabV3-ResNeSt50 on its
pseudo semantic segmentation labels and fine-tunes it on five datasets (Table 3). Here
it is built as PaddleSeg builds DeepLabV3: the backbone dilated to output stride 8,
the head on the last stage (``backbone_indices: [3]``).

Layout follows timm: the blocks, one ``ResNeSt`` builder, the family as data
(``RESNEST_SPECS``) and one entry point per variant registered in PaddleSeg's
``manager.BACKBONES`` (``ResNeSt50``, ``ResNeSt101``, ``ResNeSt200``, ``ResNeSt269``).
Each returns the four stage outputs and exposes ``feat_channels`` as PaddleSeg's
backbones do::

    model:
      type: DeepLabV3
      backbone:
        type: ResNeSt50
        output_stride: 8
        pretrained: pretrained/ResNeSt50_pretrained.pdparams
      backbone_indices: [3]

Parameter names follow the original ResNeSt implementation (``stem.conv1``,
``layer1.0.conv2.fc1``, ``layer2.0.downsample.conv``, ...). Classification weights
from PaddleClas (``ResNeSt50_pretrained.pdparams``) use other names; they are
recognised and renamed on load by :func:`convert_paddleclas_resnest_state_dict`,
whose docstring holds the full name mapping.

Differences from the original that matter when loading weights:

* The attention branch's first 1x1 convolution ``fc1`` has no bias (batch norm
  follows it), as in PaddleClas; the second, ``fc2``, has one, as in the original and
  in PaddleClas since December 2022. Older PaddleClas checkpoints lack it: it is then
  reported missing and stays at its zero initialisation, which reproduces them.
* Dilation follows the original ResNeSt (and PyTorch-Encoding's DeepLabV3-ResNeSt):
  in a dilated stage the first block uses half the stage's dilation (1 for a
  dilation-2 stage, 2 for a dilation-4 stage) and the other blocks the full one.
  PaddleSeg's ResNet_vd dilates every block of the stage instead.
"""
from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlparse

import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddleseg.cvlibs import manager
from paddleseg.models import layers
from paddleseg.utils import logger

__all__ = [
    "RESNEST_SPECS",
    "ResNeStSpec",
    "ResNeSt",
    "ResNeSt50",
    "ResNeSt101",
    "ResNeSt200",
    "ResNeSt269",
    "LoadReport",
    "convert_paddleclas_resnest_state_dict",
    "is_paddleclas_resnest_state_dict",
    "load_resnest_pretrained",
]

#: Output strides a ResNeSt backbone can be built with, and the dilation of stages 3
#: and 4 for each (stages 1 and 2 are never dilated).
OUTPUT_STRIDE_DILATIONS: Dict[int, Tuple[int, int]] = {8: (2, 4), 16: (1, 2), 32: (1, 1)}

#: Bottleneck expansion: a stage's output has ``4 * planes`` channels.
EXPANSION = 4

#: ``planes`` of the four stages (ResNet's 64, 128, 256, 512).
STAGE_PLANES: Tuple[int, int, int, int] = (64, 128, 256, 512)


@dataclass(frozen=True)
class ResNeStSpec:
    """Architecture of one ResNeSt variant (Table 7 and the released models of the paper).

    Attributes:
        depths: Number of bottleneck blocks in each of the four stages.
        stem_width: Width of the first two stem convolutions; the stem outputs
            ``2 * stem_width`` channels.
        radix: Number of split-attention groups per cardinal group (``R``).
        cardinality: Number of cardinal groups (``K``).
        bottleneck_width: Bottleneck width per cardinal group, relative to 64.
        avd: Stride blocks with a 3x3 average pool instead of a strided conv.
        avd_first: Put that pool before the split-attention conv (the "fast" variants)
            rather than after it.
        avg_down: Average-pool the shortcut before its 1x1 conv (ResNet-D).
        published_params_m: Parameter count of the ImageNet classifier reported by the
            authors, in millions (documentation only).
    """

    depths: Tuple[int, int, int, int]
    stem_width: int
    radix: int = 2
    cardinality: int = 1
    bottleneck_width: int = 64
    avd: bool = True
    avd_first: bool = False
    avg_down: bool = True
    published_params_m: float = 0.0

    def architecture(self) -> Dict[str, Any]:
        """Keyword arguments of :class:`ResNeSt` that this spec fixes."""
        kwargs = dataclasses.asdict(self)
        kwargs.pop("published_params_m")
        return kwargs


#: The ResNeSt family as data; one registered entry point per key.
RESNEST_SPECS: Dict[str, ResNeStSpec] = {
    "ResNeSt50": ResNeStSpec(depths=(3, 4, 6, 3), stem_width=32, published_params_m=27.5),
    "ResNeSt101": ResNeStSpec(depths=(3, 4, 23, 3), stem_width=64, published_params_m=48.3),
    "ResNeSt200": ResNeStSpec(depths=(3, 24, 36, 3), stem_width=64, published_params_m=70.2),
    "ResNeSt269": ResNeStSpec(depths=(3, 30, 48, 8), stem_width=64, published_params_m=110.9),
}


def _conv(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
          dilation: int = 1, groups: int = 1, bias: bool = False) -> nn.Conv2D:
    """Convolution with "same" padding, Kaiming-normal weights and a zero bias if any."""
    return nn.Conv2D(
        in_channels,
        out_channels,
        kernel_size,
        stride=stride,
        padding=dilation * (kernel_size // 2),
        dilation=dilation,
        groups=groups,
        weight_attr=paddle.ParamAttr(initializer=nn.initializer.KaimingNormal()),
        bias_attr=paddle.ParamAttr(initializer=nn.initializer.Constant(0.0)) if bias else False)


def _norm(channels: int) -> nn.Layer:
    """Batch norm as PaddleSeg's backbones use it (synchronised on multiple GPUs)."""
    return layers.SyncBatchNorm(channels)


class SplitAttentionConv2D(nn.Layer):
    """Split-attention convolution (Fig. 2 right of the ResNeSt paper).

    A grouped ``kernel_size`` convolution makes ``radix`` groups of ``out_channels``
    maps; their sum is globally pooled and passed through ``fc1`` (+BN, ReLU) and
    ``fc2`` to attention logits, normalised by a softmax across the radix groups
    (sigmoid when ``radix == 1``); the output is the attention-weighted sum.

    Args:
        in_channels: Input channels.
        out_channels: Output channels (``C``).
        kernel_size: Kernel size of the grouped convolution.
        stride: Stride of the grouped convolution.
        dilation: Dilation of the grouped convolution.
        cardinality: Cardinal groups (``K``).
        radix: Split-attention groups per cardinal group (``R``), at least 1.
        reduction_factor: Channel reduction of the attention branch.
        min_inter_channels: Lower bound on the attention branch's width.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, dilation: int = 1, cardinality: int = 1, radix: int = 2,
                 reduction_factor: int = 4, min_inter_channels: int = 32) -> None:
        super().__init__()
        if radix < 1:
            raise ValueError(f"radix must be >= 1, got {radix}")
        self.radix = radix
        self.cardinality = cardinality
        inter_channels = max(in_channels * radix // reduction_factor, min_inter_channels)
        self.conv = _conv(in_channels, out_channels * radix, kernel_size, stride, dilation,
                          groups=cardinality * radix)
        self.bn0 = _norm(out_channels * radix)
        self.fc1 = _conv(out_channels, inter_channels, 1, groups=cardinality)
        self.bn1 = _norm(inter_channels)
        self.fc2 = _conv(inter_channels, out_channels * radix, 1, groups=cardinality, bias=True)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        """Apply split attention.

        Args:
            x: float32 ``[N, in_channels, H, W]``.

        Returns:
            float32 ``[N, out_channels, H / stride, W / stride]``.
        """
        x = F.relu(self.bn0(self.conv(x)))  # [N, R*C, H, W], radix-major channels
        splits = paddle.split(x, self.radix, axis=1) if self.radix > 1 else [x]
        gap = paddle.add_n(splits) if self.radix > 1 else x  # [N, C, H, W]
        gap = F.adaptive_avg_pool2d(gap, 1)  # [N, C, 1, 1]
        logits = self.fc2(F.relu(self.bn1(self.fc1(gap))))  # [N, R*C, 1, 1], cardinal-major
        if self.radix > 1:
            # [N, K, R, C/K] -> [N, R, K, C/K]: softmax over R, back to radix-major channels.
            logits = paddle.reshape(logits, [0, self.cardinality, self.radix, -1])
            attention = F.softmax(paddle.transpose(logits, [0, 2, 1, 3]), axis=1)
            attention = paddle.reshape(attention, [0, -1, 1, 1])
            weights = paddle.split(attention, self.radix, axis=1)
            return paddle.add_n([s * w for s, w in zip(splits, weights)])
        return x * F.sigmoid(logits)


class ResNeStBottleneck(nn.Layer):
    """ResNeSt bottleneck: 1x1 conv, split-attention 3x3, (avd pool), 1x1 conv, shortcut.

    Args:
        in_channels: Input channels.
        planes: Bottleneck base width; the block outputs ``4 * planes`` channels.
        stride: Spatial stride of the block (1 or 2).
        dilation: Dilation of the 3x3 convolution.
        is_first: First block of a stage other than the first; with ``avd`` it gets the
            average pool even at stride 1, as in the original.
        radix: See :class:`SplitAttentionConv2D`.
        cardinality: See :class:`SplitAttentionConv2D`.
        bottleneck_width: Bottleneck width per cardinal group, relative to 64.
        avd: Stride with a 3x3 average pool instead of the convolution.
        avd_first: Put the pool before the split-attention conv instead of after it.
        avg_down: Average-pool the projection shortcut instead of striding its conv.
    """

    def __init__(self, in_channels: int, planes: int, stride: int = 1, dilation: int = 1,
                 is_first: bool = False, radix: int = 2, cardinality: int = 1,
                 bottleneck_width: int = 64, avd: bool = True, avd_first: bool = False,
                 avg_down: bool = True) -> None:
        super().__init__()
        out_channels = planes * EXPANSION
        group_width = int(planes * (bottleneck_width / 64.0)) * cardinality
        use_avd = avd and (stride > 1 or is_first)
        self.conv1 = _conv(in_channels, group_width, 1)
        self.bn1 = _norm(group_width)
        # The original pads with zeros and counts them (PyTorch's count_include_pad).
        pool = nn.AvgPool2D(3, stride, padding=1, exclusive=False) if use_avd else None
        self.avd_first = pool if avd_first else None
        self.conv2 = SplitAttentionConv2D(
            group_width, group_width, 3, stride=1 if use_avd else stride, dilation=dilation,
            cardinality=cardinality, radix=radix)
        self.avd_last = None if avd_first else pool
        self.conv3 = _conv(group_width, out_channels, 1)
        self.bn3 = _norm(out_channels)
        self.downsample = (AverageDownShortcut(in_channels, out_channels, stride, avg_down)
                           if stride != 1 or in_channels != out_channels else None)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        """Apply the block.

        Args:
            x: float32 ``[N, in_channels, H, W]``.

        Returns:
            float32 ``[N, 4 * planes, ceil(H / stride), ceil(W / stride)]``.
        """
        out = F.relu(self.bn1(self.conv1(x)))
        if self.avd_first is not None:
            out = self.avd_first(out)
        out = self.conv2(out)
        if self.avd_last is not None:
            out = self.avd_last(out)
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


class AverageDownShortcut(nn.Layer):
    """Projection shortcut: (average pool with the block's stride,) 1x1 conv, BN.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        stride: Stride of the block.
        avg_down: Pool then convolve at stride 1 (ResNet-D); otherwise a strided conv.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int,
                 avg_down: bool = True) -> None:
        super().__init__()
        self.pool = (nn.AvgPool2D(stride, stride, ceil_mode=True, exclusive=True)
                     if avg_down and stride > 1 else None)
        self.conv = _conv(in_channels, out_channels, 1, stride=1 if avg_down else stride)
        self.bn = _norm(out_channels)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        """Args: x: float32 ``[N, in_channels, H, W]``. Returns: ``[N, out, H/s, W/s]``."""
        if self.pool is not None:
            x = self.pool(x)
        return self.bn(self.conv(x))


class ResNeSt(nn.Layer):
    """ResNeSt backbone returning the outputs of its four stages.

    Args:
        depths: Blocks per stage.
        stem_width: Width of the deep stem (it outputs ``2 * stem_width`` channels).
        radix: Split-attention radix.
        cardinality: Cardinal groups.
        bottleneck_width: Bottleneck width per cardinal group.
        avd: Stride blocks with an average pool.
        avd_first: Put that pool before the split-attention conv.
        avg_down: Average-down projection shortcuts.
        output_stride: 8, 16 or 32; stages 3 and 4 are dilated instead of strided to
            reach it (PaddleSeg's ``ResNet50_vd`` argument of the same name).
        in_channels: Channels of the input image.
        pretrained: Path or URL of a ``.pdparams`` state dict to load: ours, a
            PaddleClas ResNeSt classifier's (renamed automatically), or a segmentation
            model's (its ``backbone.`` prefix is stripped). See
            :func:`load_resnest_pretrained`.

    Attributes:
        feat_channels: Channels of the four returned features, ``[256, 512, 1024, 2048]``.
    """

    def __init__(self, depths: Sequence[int], stem_width: int = 64, radix: int = 2,
                 cardinality: int = 1, bottleneck_width: int = 64, avd: bool = True,
                 avd_first: bool = False, avg_down: bool = True, output_stride: int = 8,
                 in_channels: int = 3, pretrained: Optional[str] = None) -> None:
        super().__init__()
        if output_stride not in OUTPUT_STRIDE_DILATIONS:
            raise ValueError(f"output_stride must be one of {sorted(OUTPUT_STRIDE_DILATIONS)}, "
                             f"got {output_stride!r}")
        if len(depths) != 4 or min(depths) < 1:
            raise ValueError(f"depths must be 4 positive block counts, got {list(depths)!r}")
        if radix < 1:
            raise ValueError(f"radix must be >= 1, got {radix}")
        self.output_stride = output_stride
        self.feat_channels: List[int] = [p * EXPANSION for p in STAGE_PLANES]

        self.stem = nn.Sequential(
            ("conv1", _conv(in_channels, stem_width, 3, stride=2)),
            ("bn1", _norm(stem_width)), ("relu1", nn.ReLU()),
            ("conv2", _conv(stem_width, stem_width, 3)),
            ("bn2", _norm(stem_width)), ("relu2", nn.ReLU()),
            ("conv3", _conv(stem_width, stem_width * 2, 3)),
            ("bn3", _norm(stem_width * 2)), ("relu3", nn.ReLU()))
        self.maxpool = nn.MaxPool2D(3, stride=2, padding=1)

        block_kwargs = dict(radix=radix, cardinality=cardinality,
                            bottleneck_width=bottleneck_width, avd=avd, avd_first=avd_first,
                            avg_down=avg_down)
        stage_dilations = (1, 1) + OUTPUT_STRIDE_DILATIONS[output_stride]
        channels = stem_width * 2
        for index, (depth, planes, dilation) in enumerate(
                zip(depths, STAGE_PLANES, stage_dilations)):
            stride = 2 if index > 0 and dilation == 1 else 1
            blocks = []
            for b in range(depth):
                blocks.append(ResNeStBottleneck(
                    channels, planes,
                    stride=stride if b == 0 else 1,
                    # Original convention: a dilated stage's first block uses half its
                    # dilation, the dilation the previous stage ended with.
                    dilation=max(dilation // 2, 1) if b == 0 else dilation,
                    is_first=b == 0 and index > 0,
                    **block_kwargs))
                channels = planes * EXPANSION
            setattr(self, f"layer{index + 1}", nn.Sequential(*blocks))

        self.pretrained = pretrained
        if pretrained is not None:
            load_resnest_pretrained(self, pretrained)

    def forward(self, x: paddle.Tensor) -> List[paddle.Tensor]:
        """Compute the four stage outputs.

        Args:
            x: float32 image batch ``[N, in_channels, H, W]``.

        Returns:
            Four float32 feature maps; with ``s = output_stride`` and sizes rounded up:
            ``[N, 256, H/4, W/4]``, ``[N, 512, H/8, W/8]``,
            ``[N, 1024, H/min(16, s), W/min(16, s)]``, ``[N, 2048, H/s, W/s]``.
        """
        x = self.maxpool(self.stem(x))
        features = []
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = stage(x)
            features.append(x)
        return features


def _build(variant: str, **kwargs: Any) -> ResNeSt:
    spec = RESNEST_SPECS[variant]
    clash = sorted(set(kwargs) & set(spec.architecture()))
    if clash:
        raise TypeError(f"{variant} fixes {clash}; build ResNeSt(...) directly to change them")
    return ResNeSt(**spec.architecture(), **kwargs)


@manager.BACKBONES.add_component
def ResNeSt50(output_stride: int = 8, pretrained: Optional[str] = None,
              **kwargs: Any) -> ResNeSt:
    """ResNeSt-50 (2s1x64d, stem width 32), the PSSL paper's DeepLabV3 backbone.

    Args:
        output_stride: 8, 16 or 32.
        pretrained: Path or URL of a ``.pdparams`` state dict (ours or PaddleClas's).
        **kwargs: Further :class:`ResNeSt` arguments (``in_channels``).
    """
    return _build("ResNeSt50", output_stride=output_stride, pretrained=pretrained, **kwargs)


@manager.BACKBONES.add_component
def ResNeSt101(output_stride: int = 8, pretrained: Optional[str] = None,
               **kwargs: Any) -> ResNeSt:
    """ResNeSt-101 (2s1x64d, stem width 64). Arguments as :func:`ResNeSt50`."""
    return _build("ResNeSt101", output_stride=output_stride, pretrained=pretrained, **kwargs)


@manager.BACKBONES.add_component
def ResNeSt200(output_stride: int = 8, pretrained: Optional[str] = None,
               **kwargs: Any) -> ResNeSt:
    """ResNeSt-200 (2s1x64d, stem width 64). Arguments as :func:`ResNeSt50`."""
    return _build("ResNeSt200", output_stride=output_stride, pretrained=pretrained, **kwargs)


@manager.BACKBONES.add_component
def ResNeSt269(output_stride: int = 8, pretrained: Optional[str] = None,
               **kwargs: Any) -> ResNeSt:
    """ResNeSt-269 (2s1x64d, stem width 64). Arguments as :func:`ResNeSt50`."""
    return _build("ResNeSt269", output_stride=output_stride, pretrained=pretrained, **kwargs)


# --------------------------------------------------------------------------------------
# Pretrained weights
# --------------------------------------------------------------------------------------

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


# PaddleClas dygraph checkpoints (ResNeSt50_pretrained.pdparams, saved with
# ``model.state_dict()``): the attribute paths of ppcls/arch/backbone/model_zoo/resnest.py.
# The block prefix ``layerS.layerS_bottleneck_B.`` becomes ``layerS.B.``. ``out.*`` (the
# classifier) is dropped.
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
    """Rename a PaddleClas ResNeSt classifier state dict to this module's names.

    PaddleClas's ``ResNeSt50_pretrained.pdparams`` (and 101) is ``model.state_dict()``
    of ``ppcls/arch/backbone/model_zoo/resnest.py``; its keys are attribute paths. ``S``
    is the stage (1-4), ``B`` the block in it, ``X`` a batch-norm tensor (``weight``,
    ``bias``, ``_mean``, ``_variance``, the same in both)::

        PaddleClas (structured name)                  ours
        stem.conv{i}._conv.weight                     stem.conv{i}.weight       (i = 1..3)
        stem.conv{i}._batch_norm.X                    stem.bn{i}.X
        layerS.layerS_bottleneck_B.conv1._conv.weight layerS.B.conv1.weight
        layerS.layerS_bottleneck_B.conv1._batch_norm.X layerS.B.bn1.X
        ...B.conv2.conv1._conv.weight                 layerS.B.conv2.conv.weight (radix conv)
        ...B.conv2.conv1._batch_norm.X                layerS.B.conv2.bn0.X
        ...B.conv2.conv2._conv.weight                 layerS.B.conv2.fc1.weight  (attention)
        ...B.conv2.conv2._batch_norm.X                layerS.B.conv2.bn1.X
        ...B.conv2.conv3.weight                       layerS.B.conv2.fc2.weight  (attention)
        ...B.conv2.conv3.bias (since Dec 2022)        layerS.B.conv2.fc2.bias
        ...B.conv3._conv.weight                       layerS.B.conv3.weight
        ...B.conv3._batch_norm.X                      layerS.B.bn3.X
        ...B.conv4.weight                             layerS.B.downsample.conv.weight
        ...B._batch_norm.X                            layerS.B.downsample.bn.X
        out.weight, out.bias                          (dropped: the classifier)

    Static-graph exports keyed by the ``ParamAttr`` names of the same source are also
    accepted: ``conv{i}_weight`` / ``conv{i}_{scale,offset,mean,variance}`` (stem),
    and with ``P = layerS_bottleneck_B``: ``P_conv1_weight``, ``P_splat_1_weights_weight``
    (radix conv), ``P_splat_2_weights_weight`` (fc1), ``P_splat_weights`` (fc2),
    ``P_conv3_weight``, ``P_weights`` (avg-down shortcut conv; ``P_shortcut_weights``
    without avg-down), each BN as ``<conv name>_{scale,offset,mean,variance}`` and the
    shortcut BN as ``P_shortcut_{...}``; ``fc_weights``/``fc_offset`` are dropped.

    Keys that match no rule (nor the classifier) are kept unchanged, so the loader
    reports them as unexpected rather than losing them silently.

    Args:
        state_dict: PaddleClas-named tensors or arrays.

    Returns:
        A new dict with our names; values are the same objects.
    """
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


@dataclass
class LoadReport:
    """What :func:`load_resnest_pretrained` did.

    Attributes:
        loaded: Our keys that received a tensor.
        missing: Our keys absent from the file (left at their initialisation).
        unexpected: File keys (after renaming) that are not ours.
        mismatched: Keys present in both with different shapes (skipped), with the
            ``(file shape, model shape)``.
        converted_from_paddleclas: Whether PaddleClas names were renamed.
    """

    loaded: List[str] = dataclasses.field(default_factory=list)
    missing: List[str] = dataclasses.field(default_factory=list)
    unexpected: List[str] = dataclasses.field(default_factory=list)
    mismatched: Dict[str, Tuple[List[int], List[int]]] = dataclasses.field(default_factory=dict)
    converted_from_paddleclas: bool = False


def _preview(keys: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


def load_resnest_pretrained(model: nn.Layer, path: str) -> LoadReport:
    """Load a classification (or segmentation) state dict into a ResNeSt backbone.

    Accepts our own names, PaddleClas's (converted with
    :func:`convert_paddleclas_resnest_state_dict`) and a whole segmentation model's
    state dict (keys under ``backbone.``). Missing, unexpected and shape-mismatched
    keys are logged with their counts and first names; tensors that fit are loaded.

    Args:
        model: The backbone.
        path: A ``.pdparams`` file, or a URL PaddleSeg downloads it from.

    Returns:
        A :class:`LoadReport`.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: No key of the file matches the model (wrong file).
    """
    if urlparse(path).netloc:
        from paddleseg.utils.utils import download_pretrained_model
        path = download_pretrained_model(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"pretrained {path!r} is not a file; expected a .pdparams "
                                "state dict (e.g. PaddleClas's ResNeSt50_pretrained.pdparams)")
    state_dict = paddle.load(path)
    if not isinstance(state_dict, dict):
        raise ValueError(f"pretrained {path!r} holds a {type(state_dict).__name__}, "
                         "expected a state dict")
    if state_dict and all(k.startswith("backbone.") for k in state_dict
                          if not k.startswith("head.")):
        state_dict = {k[len("backbone."):]: v for k, v in state_dict.items()
                      if k.startswith("backbone.")}

    report = LoadReport(converted_from_paddleclas=is_paddleclas_resnest_state_dict(state_dict))
    if report.converted_from_paddleclas:
        state_dict = convert_paddleclas_resnest_state_dict(state_dict)

    own = model.state_dict()
    to_load = {}
    for key, target in own.items():
        if key not in state_dict:
            report.missing.append(key)
            continue
        shape = list(state_dict[key].shape)
        if shape != list(target.shape):
            report.mismatched[key] = (shape, list(target.shape))
            continue
        to_load[key] = state_dict[key]
        report.loaded.append(key)
    report.unexpected = [k for k in state_dict if k not in own]

    name = type(model).__name__
    if not report.loaded:
        raise ValueError(
            f"pretrained {path!r}: none of its {len(state_dict)} keys match {name} "
            f"(first: {_preview(list(state_dict), 3)}; expected e.g. "
            f"{_preview(list(own), 3)}). Expected our names or PaddleClas's ResNeSt names.")
    model.set_state_dict(to_load)
    source = " (PaddleClas names converted)" if report.converted_from_paddleclas else ""
    logger.info(f"Loaded {len(report.loaded)}/{len(own)} tensors into {name} from "
                f"{path}{source}")
    if report.missing:
        logger.warning(f"{len(report.missing)} {name} tensors not in {path}, left at their "
                       f"initialisation: {_preview(report.missing)}")
    if report.unexpected:
        logger.warning(f"{len(report.unexpected)} tensors in {path} are not in {name} and "
                       f"were ignored: {_preview(report.unexpected)}")
    for key, (got, expected) in report.mismatched.items():
        logger.warning(f"skipped {key}: shape {got} in {path}, {expected} in {name}")
    return report
