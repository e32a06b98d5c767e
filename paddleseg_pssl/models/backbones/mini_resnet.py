"""MiniResNet: a small residual backbone for PaddleSeg, and the trunk of a miniature classifier.

The demo's conventional initialisation ("classification-pretrained backbone only") needs a
backbone whose weights come from a classifier of the ensemble: ``MiniResNetClassifier``
(:mod:`paddleseg_pssl.miniature.nets`) *is* this trunk plus pooling and ``fc.*``, so its
``.pdparams`` loads into the backbone by name through PaddleSeg's ``pretrained`` key. ``forward``
returns one feature per stage (strides 2, 4, 8 and 16 by default)::

    model:
      type: FCN            # or DeepLabV3 / PSPNet ... with backbone_indices
      backbone:
        type: MiniResNet
        pretrained: <classifier out>/mini_resnet_a.pdparams
"""
from typing import List, Optional, Sequence

import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddleseg.cvlibs import manager
from paddleseg.utils import utils

#: How a stage halves the resolution (``downsample`` of the nets below):
#: ``"stride"``: stride-2 convolutions (3x3 in the main path, 1x1 in the shortcut), as in ResNet;
#: ``"blur"``: a 3x3 average pooling of stride 2 (overlapping: every input pixel feeds the
#: output), then stride-1 convolutions;
#: ``"binomial"``: as ``"blur"`` with a binomial [1, 2, 1] filter (``BlurPool``), which also
#: gives every pixel the same gradient share (the 3x3 box weights pixels 1 : 2 : 4 by parity).
#: Stride-2 convolutions, 1x1 stride-2 shortcuts and max pooling send input gradients to a
#: sub-grid of pixels, so gradient explanations come out checkerboarded. On the demo's set
#: (SmoothGrad consensus of 5 nets, 300 images, n = 50) the top-decile precision against the
#: true masks was 0.53 with "stride", 0.62 with "blur" and 0.62 with "binomial"; "binomial"
#: trains about 35 % slower on CPU, so the demo uses "blur".
DOWNSAMPLE_MODES = ("stride", "blur", "binomial")

#: Variants as data: name -> keyword arguments of MiniResNetBackbone.
MINI_RESNET_VARIANTS = {
    "MiniResNet": {"widths": (16, 32, 64, 128), "depths": (1, 1, 1, 1), "downsample": "blur"},
}


class BlurPool(nn.Layer):
    """Anti-aliased downsampling (Zhang 2019): a fixed binomial [1, 2, 1] x [1, 2, 1] / 16 filter
    per channel, stride 2, reflect padding. Every input pixel gets the same total weight
    (1/4), so input gradients have no stride pattern; a 3x3 box of stride 2 would weight
    pixels 1 : 2 : 4 by their parity. No parameters (the kernel is a non-persistable buffer, so
    state dicts are the same as with strided convolutions)."""

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
    """ResNet basic block: two 3x3 conv-BN, identity or 1x1 projection shortcut, ReLU.

    With ``downsample="blur"`` a stride-2 block first blur-pools its input (``blur_pool``) and
    then runs stride 1; the parameters (names and shapes) are the same in both modes.
    """

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
    """Run ``net.stem``, its optional ``net.stem_pool``, then ``net.stages``; one output per stage.

    Shared by the backbone and the miniature classifiers, which are built the same way.
    """
    x = net.stem(x)
    if net.stem_pool is not None:
        x = net.stem_pool(x)
    features = []
    for stage in net.stages:
        x = stage(x)
        features.append(x)
    return features


class MiniResNetBackbone(nn.Layer):
    """A small ResNet: a strided 3x3 stem, then one stage of basic blocks per width.

    ``widths`` are the stages' channels (``feat_channels``); ``strides`` their first blocks'
    (after the stem's 2). ``downsample``: ``"stride"`` (stride-2 convolutions), ``"blur"`` or
    ``"binomial"`` (a parameter-free blur of stride 2, then stride 1; same parameters).
    ``pretrained``: a ``.pdparams`` (e.g. a MiniResNetClassifier's) loaded by name and shape.
    """

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

    def forward_features(self, x: paddle.Tensor) -> List[paddle.Tensor]:
        """float32 (N, C_in, H, W) -> one (N, feat_channels[i], H / s_i, W / s_i) per stage."""
        return stage_features(self, x)

    def forward(self, x: paddle.Tensor) -> List[paddle.Tensor]:
        """float32 (N, C_in, H, W) -> list of stage features (PaddleSeg's backbone contract)."""
        return self.forward_features(x)

    def init_weight(self) -> None:
        if self.pretrained is not None:
            utils.load_pretrained_model(self, self.pretrained)


@manager.BACKBONES.add_component
def MiniResNet(**kwargs) -> MiniResNetBackbone:
    """The miniature demo's backbone (widths 16-32-64-128, one block per stage, strides 2-16,
    blur-pool downsampling)."""
    return MiniResNetBackbone(**{**MINI_RESNET_VARIANTS["MiniResNet"], **kwargs})
