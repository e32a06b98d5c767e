"""MiniResNet: a small residual backbone for PaddleSeg, and the trunk of a miniature classifier.

``MiniResNetClassifier`` (:mod:`paddleseg_pssl.miniature.nets`) *is* this trunk plus pooling and
``fc.*``, so a classifier's ``.pdparams`` loads into the backbone by name (``pretrained``): the
demo's conventional initialisation.
"""
from typing import List, Optional, Sequence

import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddleseg.cvlibs import manager
from paddleseg.utils import utils

#: How a stage halves the resolution: stride-2 convolutions (as ResNet), or a stride-2 3x3 box
#: ("blur") or binomial ("binomial", :class:`BlurPool`) filter then stride 1. Strided
#: convolutions checkerboard gradient explanations: on the demo's set (consensus of 5 nets, 300
#: images, n = 50) top-decile precision was 0.53 / 0.62 / 0.62; "binomial" trains ~35 % slower.
DOWNSAMPLE_MODES = ("stride", "blur", "binomial")

#: Variants as data: name -> keyword arguments of MiniResNetBackbone.
MINI_RESNET_VARIANTS = {
    "MiniResNet": {"widths": (16, 32, 64, 128), "depths": (1, 1, 1, 1), "downsample": "blur"},
}


class BlurPool(nn.Layer):
    """Anti-aliased downsampling (Zhang 2019): a fixed binomial [1, 2, 1]^2 / 16 filter per channel,
    stride 2, reflect padding; every input pixel gets the same total weight (a 3x3 box weights
    them 1 : 2 : 4 by parity). The kernel is a non-persistable buffer: no state dict entries."""

    def __init__(self):
        super().__init__()
        taps = paddle.to_tensor([1.0, 2.0, 1.0]) / 4.0
        self.register_buffer("kernel", (taps.unsqueeze(1) * taps.unsqueeze(0))
                             .reshape([1, 1, 3, 3]), persistable=False)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        channels = x.shape[1]
        x = F.pad(x, [1, 1, 1, 1], mode="reflect")
        return F.conv2d(x, self.kernel.expand([channels, 1, 3, 3]), stride=2, groups=channels)


def blur_pool(downsample: str = "blur") -> nn.Layer:
    """The parameter-free stride-2 layer of a ``downsample`` mode ("blur" or "binomial")."""
    if downsample == "binomial":
        return BlurPool()
    return nn.AvgPool2D(3, stride=2, padding=1, exclusive=False)


def check_downsample(downsample: str) -> str:
    if downsample not in DOWNSAMPLE_MODES:
        raise ValueError(f"downsample {downsample!r}: expected one of {list(DOWNSAMPLE_MODES)}")
    return downsample


class ConvBNReLU(nn.Sequential):
    """3x3 (or k x k) convolution, batch norm, optional ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, groups: int = 1, act: bool = True):
        layers = [nn.Conv2D(in_channels, out_channels, kernel_size, stride=stride,
                            padding=kernel_size // 2, groups=groups, bias_attr=False),
                  nn.BatchNorm2D(out_channels)]
        if act:
            layers.append(nn.ReLU())
        super().__init__(*layers)


class BasicBlock(nn.Layer):
    """ResNet basic block: two 3x3 conv-BN, identity or 1x1 projection shortcut, ReLU; a blurring
    stride-2 block pools first, then runs stride 1 (same parameters in every mode)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 downsample: str = "stride"):
        super().__init__()
        blur = check_downsample(downsample) != "stride" and stride != 1
        self.pool = blur_pool(downsample) if blur else None
        conv_stride = 1 if blur else stride
        self.conv1 = ConvBNReLU(in_channels, out_channels, 3, conv_stride)
        self.conv2 = ConvBNReLU(out_channels, out_channels, 3, 1, act=False)
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = ConvBNReLU(in_channels, out_channels, 1, conv_stride, act=False)
        self.relu = nn.ReLU()

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        if self.pool is not None:
            x = self.pool(x)
        identity = x if self.shortcut is None else self.shortcut(x)
        return self.relu(self.conv2(self.conv1(x)) + identity)


def stage_features(net: nn.Layer, x: paddle.Tensor) -> List[paddle.Tensor]:
    """Run ``net.stem``, its optional ``net.stem_pool``, then ``net.stages``; one output per stage
    (shared with the miniature classifiers)."""
    x = net.stem(x)
    if net.stem_pool is not None:
        x = net.stem_pool(x)
    features = []
    for stage in net.stages:
        x = stage(x)
        features.append(x)
    return features


class MiniResNetBackbone(nn.Layer):
    """A small ResNet: a strided 3x3 stem, then one stage of basic blocks per width (``strides``:
    the stages' first blocks', after the stem's 2); ``pretrained`` loads by name and shape."""

    def __init__(self, widths: Sequence[int] = (16, 32, 64, 128),
                 depths: Sequence[int] = (1, 1, 1, 1), strides: Sequence[int] = (1, 2, 2, 2),
                 in_channels: int = 3, pretrained: Optional[str] = None,
                 downsample: str = "stride"):
        super().__init__()
        check_downsample(downsample)
        if not len(widths) == len(depths) == len(strides):
            raise ValueError(f"widths {widths}, depths {depths} and strides {strides} must have "
                             "one entry per stage")
        blur = downsample != "stride"
        self.stem = ConvBNReLU(in_channels, widths[0], 3, stride=1 if blur else 2)
        self.stem_pool = blur_pool(downsample) if blur else None
        stages = []
        previous = widths[0]
        for width, depth, stride in zip(widths, depths, strides):
            blocks = [BasicBlock(previous, width, stride, downsample)]
            blocks += [BasicBlock(width, width) for _ in range(depth - 1)]
            stages.append(nn.Sequential(*blocks))
            previous = width
        self.stages = nn.LayerList(stages)
        self.feat_channels: List[int] = [int(w) for w in widths]
        self.pretrained = pretrained
        self.init_weight()

    def forward(self, x: paddle.Tensor) -> List[paddle.Tensor]:
        """float32 (N, C_in, H, W) -> one (N, feat_channels[i], H / s_i, W / s_i) per stage."""
        return stage_features(self, x)

    forward_features = forward

    def init_weight(self) -> None:
        if self.pretrained is not None:
            utils.load_pretrained_model(self, self.pretrained)


@manager.BACKBONES.add_component
def MiniResNet(**kwargs) -> MiniResNetBackbone:
    """The miniature demo's backbone (widths 16-32-64-128, one block per stage, strides 2-16,
    blur-pool downsampling)."""
    return MiniResNetBackbone(**{**MINI_RESNET_VARIANTS["MiniResNet"], **kwargs})
