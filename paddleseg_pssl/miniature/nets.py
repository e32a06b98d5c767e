"""Small classifiers of three architectures, built by name (PSSL's ensemble, arXiv 2207.03335):
diverse architectures help the consensus (arXiv 2109.00707). ``mini_resnet``'s trunk is the
``MiniResNet`` backbone, so its weights initialise a segmentation backbone. Every net ends in
global average pooling, so it takes images at their own size and aspect.
"""
from typing import Callable, Dict, List, Sequence, Tuple

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from paddleseg_pssl import model_factory
from paddleseg_pssl.models.backbones.mini_resnet import (
    MINI_RESNET_VARIANTS, ConvBNReLU, MiniResNetBackbone, blur_pool, check_downsample,
    stage_features)

#: Widths of the four stages at ``width=16``, scaled by the factories' ``width``.
VGG_WIDTHS: Tuple[int, ...] = (16, 32, 64, 128)
RESNET_WIDTHS: Tuple[int, ...] = MINI_RESNET_VARIANTS["MiniResNet"]["widths"]
MOBILENET_WIDTHS: Tuple[int, ...] = (16, 24, 32, 64)


class _ClassifierHead(nn.Layer):
    """Shared tail: global average pooling of the last map of ``forward_features``, then ``fc``."""

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        """float32 (N, 3, H, W), normalised RGB -> float32 logits (N, num_classes)."""
        last = self.forward_features(x)[-1]
        return self.fc(paddle.flatten(F.adaptive_avg_pool2d(last, 1), 1))


class MiniVGG(_ClassifierHead):
    """VGG-style plain net: a strided 3x3 stem, then per stage a halving (not before the first)
    and `depths[i]` 3x3 conv-BN-ReLU layers; no residuals, no depthwise convolutions.

    ``downsample="stride"``: stride-2 stem, 2x2 max pooling; ``"blur"`` / ``"binomial"``:
    stride-1 stem and a parameter-free blur of stride 2 (``mini_resnet.blur_pool``) everywhere.
    """

    def __init__(self, num_classes: int, widths: Sequence[int] = VGG_WIDTHS,
                 depths: Sequence[int] = (1, 1, 2, 2), downsample: str = "stride"):
        super().__init__()
        blur = check_downsample(downsample) != "stride"
        self.stem = ConvBNReLU(3, widths[0], 3, stride=1 if blur else 2)
        self.stem_pool = blur_pool(downsample) if blur else None
        stages, previous = [], widths[0]
        for i, (width, depth) in enumerate(zip(widths, depths)):
            layers = [blur_pool(downsample) if blur else nn.MaxPool2D(2)] if i > 0 else []
            for _ in range(depth):
                layers.append(ConvBNReLU(previous, width))
                previous = width
            stages.append(nn.Sequential(*layers))
        self.stages = nn.LayerList(stages)
        self.fc = nn.Linear(previous, num_classes)

    def forward_features(self, x: paddle.Tensor) -> List[paddle.Tensor]:
        return stage_features(self, x)


class MiniResNetClassifier(MiniResNetBackbone, _ClassifierHead):
    """The MiniResNet backbone (same parameter names) + global average pooling + ``fc``."""

    def __init__(self, num_classes: int, **backbone_kwargs):
        super().__init__(**backbone_kwargs)
        self.fc = nn.Linear(self.feat_channels[-1], num_classes)

    forward = _ClassifierHead.forward


class InvertedResidual(nn.Layer):
    """MobileNetV2 block: 1x1 expand, 3x3 depthwise, 1x1 project; residual when shapes match.
    With ``downsample="blur"`` a stride-2 block blur-pools its input, then runs stride 1."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand: int,
                 downsample: str = "stride"):
        super().__init__()
        blur = check_downsample(downsample) != "stride" and stride != 1
        self.pool = blur_pool(downsample) if blur else None
        hidden = in_channels * expand
        self.block = nn.Sequential(
            ConvBNReLU(in_channels, hidden, 1),
            ConvBNReLU(hidden, hidden, 3, 1 if blur else stride, groups=hidden),
            ConvBNReLU(hidden, out_channels, 1, act=False))
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        if self.pool is not None:
            x = self.pool(x)
        y = self.block(x)
        return x + y if self.residual else y


class MiniMobileNet(_ClassifierHead):
    """MobileNetV2-style: strided stem, inverted residuals (`blocks` per stage), 1x1 conv to
    `last` channels."""

    def __init__(self, num_classes: int, widths: Sequence[int] = MOBILENET_WIDTHS,
                 strides: Sequence[int] = (1, 2, 2, 2), expand: int = 2, last: int = 128,
                 blocks: int = 1, downsample: str = "stride"):
        super().__init__()
        blur = check_downsample(downsample) != "stride"
        self.stem = ConvBNReLU(3, widths[0], 3, stride=1 if blur else 2)
        self.stem_pool = blur_pool(downsample) if blur else None
        stages, previous = [], widths[0]
        for width, stride in zip(widths, strides):
            stages.append(nn.Sequential(
                InvertedResidual(previous, width, stride, expand, downsample),
                *[InvertedResidual(width, width, 1, expand) for _ in range(blocks - 1)]))
            previous = width
        self.stages = nn.LayerList(stages)
        self.last = ConvBNReLU(previous, last, 1)
        self.fc = nn.Linear(last, num_classes)

    def forward_features(self, x: paddle.Tensor) -> List[paddle.Tensor]:
        features = stage_features(self, x)
        return features + [self.last(features[-1])]


def _scaled(widths: Sequence[int], width: int) -> Tuple[int, ...]:
    """Scale a width tuple so that its first entry is `width`."""
    return tuple(int(round(w * width / widths[0])) for w in widths)


def mini_vgg(num_classes: int, width: int = 16, depths: Sequence[int] = (1, 1, 2, 2),
             downsample: str = "blur") -> MiniVGG:
    """Factory ('module:factory' for the ensemble): MiniVGG with widths width * (1, 2, 4, 8)."""
    return MiniVGG(num_classes, _scaled(VGG_WIDTHS, width), tuple(depths), downsample)


def mini_resnet(num_classes: int, width: int = 16,
                depths: Sequence[int] = MINI_RESNET_VARIANTS["MiniResNet"]["depths"],
                downsample: str = MINI_RESNET_VARIANTS["MiniResNet"]["downsample"]
                ) -> MiniResNetClassifier:
    """Factory: MiniResNet trunk (widths width * (1, 2, 4, 8)) + classifier head; with the
    defaults the trunk is exactly the registered ``MiniResNet`` backbone."""
    return MiniResNetClassifier(num_classes, widths=_scaled(RESNET_WIDTHS, width),
                                depths=tuple(depths), downsample=downsample)


def mini_mobilenet(num_classes: int, width: int = 16, expand: int = 2,
                   blocks: int = 1, downsample: str = "blur") -> MiniMobileNet:
    """Factory: MiniMobileNet with widths width * (1, 1.5, 2, 4) and a 8*width 1x1 last layer."""
    return MiniMobileNet(num_classes, _scaled(MOBILENET_WIDTHS, width), expand=expand,
                         last=8 * width, blocks=blocks, downsample=downsample)


FACTORIES: Dict[str, Callable[..., nn.Layer]] = {
    "mini_vgg": mini_vgg, "mini_resnet": mini_resnet, "mini_mobilenet": mini_mobilenet}


def build_classifier(arch: str, num_classes: int, **kwargs) -> nn.Layer:
    """Build by factory name ('mini_vgg') or 'module:factory' spec
    (:func:`paddleseg_pssl.model_factory.resolve_factory`)."""
    factory = model_factory.resolve_factory(arch, lambda: FACTORIES, "a miniature factory name")
    return factory(num_classes=num_classes, **kwargs)
