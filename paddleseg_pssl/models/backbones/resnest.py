"""ResNeSt backbones for PaddleSeg (the PSSL paper's DeepLabV3 backbone).

ResNeSt (Zhang et al., arXiv 2004.08955) is a ResNet-D whose bottleneck 3x3 convolution is
a *split-attention* block: ``radix`` feature-map groups, weighted per channel by a softmax
across the groups of a squeeze-and-excitation branch, then summed. It keeps ResNet-D's deep
stem and average-down shortcut and strides a block with an average pool ("avd").
The PSSL paper (arXiv 2207.03335, Table 3) pre-trains DeepLabV3-ResNeSt50; it is built here
as PaddleSeg builds DeepLabV3: backbone dilated to output stride 8, head on the last stage.

The family is data (``RESNEST_SPECS``), one entry point per variant in ``manager.BACKBONES``;
each returns the four stage outputs and exposes ``feat_channels``::

    model:
      type: DeepLabV3
      backbone: {type: ResNeSt50, output_stride: 8,
                 pretrained: pretrained/ResNeSt50_pretrained.pdparams}
      backbone_indices: [3]

Parameter names follow the original ResNeSt implementation (``stem.conv1``,
``layer1.0.conv2.fc1``, ``layer2.0.downsample.conv``, ...); PaddleClas's classification
weights use other names and are renamed on load (:mod:`.resnest_weights`).

Differences from the original:

* The attention branch's ``fc1`` has no bias (batch norm follows it), as in PaddleClas;
  ``fc2`` has one, as in the original and in PaddleClas checkpoints from December 2022 on.
  Older PaddleClas checkpoints lack it: it stays at its zero initialisation, which
  reproduces them.
* Dilation follows the original ResNeSt (and PyTorch-Encoding's DeepLabV3-ResNeSt):
  in a dilated stage the first block uses half the stage's dilation (1 for a
  dilation-2 stage, 2 for a dilation-4 stage) and the other blocks the full one.
  PaddleSeg's ResNet_vd dilates every block of the stage instead.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddleseg.cvlibs import manager
from paddleseg.models import layers

from paddleseg_pssl.models.backbones.resnest_weights import load_resnest_pretrained

__all__ = ["RESNEST_SPECS", "ResNeStSpec", "ResNeSt", "ResNeSt50", "ResNeSt101", "ResNeSt200",
           "ResNeSt269"]

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

    ``depths``: blocks per stage; ``stem_width``: width of the first two stem convolutions;
    ``radix`` (R) split-attention groups per cardinal group, ``cardinality`` (K) groups;
    ``bottleneck_width`` per cardinal group, relative to 64; ``avd``: stride blocks with a 3x3
    average pool, before the split-attention conv when ``avd_first`` ("fast" variants);
    ``avg_down``: average-pool the shortcut (ResNet-D); ``published_params_m``: the authors'
    parameter count in millions (documentation only).
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
        in_channels, out_channels, kernel_size, stride=stride,
        padding=dilation * (kernel_size // 2), dilation=dilation, groups=groups,
        weight_attr=paddle.ParamAttr(initializer=nn.initializer.KaimingNormal()),
        bias_attr=paddle.ParamAttr(initializer=nn.initializer.Constant(0.0)) if bias else False)


def _norm(channels: int) -> nn.Layer:
    """Batch norm as PaddleSeg's backbones use it (synchronised on multiple GPUs)."""
    return layers.SyncBatchNorm(channels)


class SplitAttentionConv2D(nn.Layer):
    """Split-attention convolution (Fig. 2 right of the ResNeSt paper).

    A grouped convolution makes ``radix`` groups of ``out_channels`` maps; their sum is
    globally pooled and passed through ``fc1`` (+BN, ReLU) and ``fc2`` to attention logits,
    normalised by a softmax across the radix groups (sigmoid when ``radix == 1``); the output
    is the attention-weighted sum. The attention branch is ``in_channels * radix //
    reduction_factor`` wide, at least ``min_inter_channels``.
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
        """``[N, in_channels, H, W]`` -> ``[N, out_channels, H / stride, W / stride]``."""
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

    Outputs ``4 * planes`` channels. ``is_first`` (first block of a later stage) gets the avd
    pool even at stride 1, as in the original; the other options are :class:`ResNeStSpec`'s.
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
        """``[N, in_channels, H, W]`` -> ``[N, 4 * planes, ceil(H / stride), ceil(W / stride)]``."""
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
    """Projection shortcut: average pool with the block's stride then a 1x1 conv (ResNet-D's
    ``avg_down``; otherwise a strided 1x1 conv), then BN."""

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


def _deep_stem(in_channels: int, stem_width: int) -> nn.Sequential:
    """ResNet-D's stem: three 3x3 convolutions (the first strided), each with BN and ReLU."""
    return nn.Sequential(
        ("conv1", _conv(in_channels, stem_width, 3, stride=2)),
        ("bn1", _norm(stem_width)), ("relu1", nn.ReLU()),
        ("conv2", _conv(stem_width, stem_width, 3)),
        ("bn2", _norm(stem_width)), ("relu2", nn.ReLU()),
        ("conv3", _conv(stem_width, stem_width * 2, 3)),
        ("bn3", _norm(stem_width * 2)), ("relu3", nn.ReLU()))


def _stage(in_channels: int, planes: int, depth: int, stride: int, dilation: int,
           later_stage: bool, block_kwargs: Dict[str, Any]) -> nn.Sequential:
    """One stage of ``depth`` bottlenecks; the first one strides and changes the width.

    As in the original, a dilated stage's first block uses half its dilation (the dilation
    the previous stage ended with).
    """
    blocks = [ResNeStBottleneck(in_channels, planes, stride=stride,
                                dilation=max(dilation // 2, 1), is_first=later_stage,
                                **block_kwargs)]
    blocks += [ResNeStBottleneck(planes * EXPANSION, planes, dilation=dilation, **block_kwargs)
               for _ in range(depth - 1)]
    return nn.Sequential(*blocks)


class ResNeSt(nn.Layer):
    """ResNeSt backbone returning the outputs of its four stages (``feat_channels``
    ``[256, 512, 1024, 2048]``); the architecture arguments are :class:`ResNeStSpec`'s.

    ``output_stride`` 8, 16 or 32: stages 3 and 4 are dilated instead of strided to reach it
    (as PaddleSeg's ``ResNet50_vd``). ``pretrained``: path or URL of a ``.pdparams`` state dict,
    ours, PaddleClas's or a segmentation model's (:func:`.resnest_weights.load_resnest_pretrained`).
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

        self.stem = _deep_stem(in_channels, stem_width)
        self.maxpool = nn.MaxPool2D(3, stride=2, padding=1)

        block_kwargs = dict(radix=radix, cardinality=cardinality,
                            bottleneck_width=bottleneck_width, avd=avd, avd_first=avd_first,
                            avg_down=avg_down)
        stage_dilations = (1, 1) + OUTPUT_STRIDE_DILATIONS[output_stride]
        channels = stem_width * 2
        for index, (depth, planes, dilation) in enumerate(
                zip(depths, STAGE_PLANES, stage_dilations)):
            stride = 2 if index > 0 and dilation == 1 else 1
            setattr(self, f"layer{index + 1}", _stage(channels, planes, depth, stride, dilation,
                                                      index > 0, block_kwargs))
            channels = planes * EXPANSION

        self.pretrained = pretrained
        if pretrained is not None:
            load_resnest_pretrained(self, pretrained)

    def forward(self, x: paddle.Tensor) -> List[paddle.Tensor]:
        """The four stage outputs of ``[N, in_channels, H, W]``, with ``s = output_stride``
        (sizes rounded up): ``[N, 256, H/4, W/4]``, ``[N, 512, H/8, W/8]``,
        ``[N, 1024, H/min(16, s), W/min(16, s)]``, ``[N, 2048, H/s, W/s]``."""
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
    """ResNeSt-50 (2s1x64d, stem width 32), the PSSL paper's DeepLabV3 backbone; arguments
    as :class:`ResNeSt` (``in_channels`` among ``kwargs``)."""
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
