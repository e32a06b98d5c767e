"""ResNeSt backbones for PaddleSeg (the PSSL paper's DeepLabV3-ResNeSt50, Table 3).

ResNeSt (Zhang et al., arXiv 2004.08955) is a ResNet-D whose bottleneck 3x3 convolution is a
*split-attention* block. The family is data (``RESNEST_SPECS``), one ``manager.BACKBONES`` entry
per variant. Parameter names follow the original implementation; PaddleClas's weights are
renamed on load (:mod:`.resnest_weights`). Differences from the original:

* ``fc1`` has no bias (batch norm follows), as in PaddleClas; ``fc2`` has one, which older
  PaddleClas checkpoints lack: its zero initialisation reproduces them.
* As the original (not PaddleSeg's ResNet_vd), a dilated stage's first block uses half the
  stage's dilation.
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
    """Architecture of one ResNeSt variant (the paper's Table 7): ``radix`` (R) split-attention
    groups per cardinal group, ``cardinality`` (K) groups; ``avd``: stride blocks with a 3x3
    average pool (before the split-attention conv when ``avd_first``); ``avg_down``: ResNet-D's
    average-pooled shortcut."""

    depths: Tuple[int, int, int, int]
    stem_width: int
    radix: int = 2
    cardinality: int = 1
    bottleneck_width: int = 64
    avd: bool = True
    avd_first: bool = False
    avg_down: bool = True


#: The ResNeSt family (the authors' parameter counts: 27.5M, 48.3M, 70.2M, 110.9M).
RESNEST_SPECS: Dict[str, ResNeStSpec] = {
    "ResNeSt50": ResNeStSpec(depths=(3, 4, 6, 3), stem_width=32),
    "ResNeSt101": ResNeStSpec(depths=(3, 4, 23, 3), stem_width=64),
    "ResNeSt200": ResNeStSpec(depths=(3, 24, 36, 3), stem_width=64),
    "ResNeSt269": ResNeStSpec(depths=(3, 30, 48, 8), stem_width=64),
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
    """Split-attention convolution (Fig. 2 right of the ResNeSt paper): ``radix`` groups of maps,
    summed, pooled, through ``fc1`` (+BN, ReLU) and ``fc2`` to attention logits, softmax across
    the groups (sigmoid when ``radix == 1``); the output is the attention-weighted sum."""

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
    """ResNeSt bottleneck: 1x1 conv, split-attention 3x3, (avd pool), 1x1 conv, shortcut, to
    ``4 * planes`` channels; ``is_first`` (a later stage's first block) always gets the avd pool."""

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
    """One stage of ``depth`` bottlenecks; the first strides, changes the width and uses half
    the stage's dilation (as the original)."""
    blocks = [ResNeStBottleneck(in_channels, planes, stride=stride,
                                dilation=max(dilation // 2, 1), is_first=later_stage,
                                **block_kwargs)]
    blocks += [ResNeStBottleneck(planes * EXPANSION, planes, dilation=dilation, **block_kwargs)
               for _ in range(depth - 1)]
    return nn.Sequential(*blocks)


class ResNeSt(nn.Layer):
    """ResNeSt backbone returning its four stages' outputs (``feat_channels`` 256 to 2048);
    stages 3 and 4 are dilated instead of strided to reach ``output_stride`` 8, 16 or 32.
    ``pretrained``: see :func:`.resnest_weights.load_resnest_pretrained`."""

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
        """The four stage outputs of ``[N, in_channels, H, W]``, at strides 4, 8, min(16, s)
        and s (``s = output_stride``, sizes rounded up)."""
        x = self.maxpool(self.stem(x))
        features = []
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = stage(x)
            features.append(x)
        return features


def _build(variant: str, **kwargs: Any) -> ResNeSt:
    architecture = dataclasses.asdict(RESNEST_SPECS[variant])
    clash = sorted(set(kwargs) & set(architecture))
    if clash:
        raise TypeError(f"{variant} fixes {clash}; build ResNeSt(...) directly to change them")
    return ResNeSt(**architecture, **kwargs)


@manager.BACKBONES.add_component
def ResNeSt50(output_stride: int = 8, pretrained: Optional[str] = None,
              **kwargs: Any) -> ResNeSt:
    """ResNeSt-50 (2s1x64d, stem width 32), the PSSL paper's backbone; arguments as
    :class:`ResNeSt`."""
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
