"""Miniature classifiers (paddleseg_pssl.miniature.nets): any input size, gradients, the
downsampling modes, and names resolved like the generator's ``ensemble:`` entries."""
import numpy as np
import paddle
import pytest

from paddleseg_pssl.miniature import nets
from paddleseg_pssl.miniature.classifiers import MODULE
from paddleseg_pssl.models.backbones.mini_resnet import DOWNSAMPLE_MODES

FACTORIES = sorted(nets.FACTORIES)


@pytest.mark.parametrize("factory", FACTORIES)
@pytest.mark.parametrize("size", [(64, 64), (64, 80), (48, 40)])
def test_any_input_size_and_finite_logits(factory, size):
    paddle.seed(0)
    model = nets.build_classifier(factory, 7)
    model.eval()
    out = model(paddle.randn([2, 3, *size]))
    assert out.shape == [2, 7]
    assert bool(paddle.isfinite(out).all())


@pytest.mark.parametrize("factory", FACTORIES)
def test_every_parameter_gets_a_gradient(factory):
    paddle.seed(0)
    model = nets.build_classifier(f"{MODULE}:{factory}", 5)
    loss = paddle.nn.functional.cross_entropy(model(paddle.randn([4, 3, 64, 64])),
                                              paddle.to_tensor([0, 1, 2, 3]))
    loss.backward()
    for name, p in model.named_parameters():
        if p.stop_gradient:  # BatchNorm running statistics are not trained
            continue
        assert p.grad is not None and bool(paddle.isfinite(p.grad).all()), name


def test_unknown_arch_names_the_choices():
    with pytest.raises(ValueError, match="mini_vgg"):
        nets.build_classifier("resnet9000", 3)


@pytest.mark.parametrize("factory", FACTORIES)
def test_downsample_modes_share_parameters(factory):
    """'stride' and 'blur' differ only in parameter-free layers and strides."""
    shapes = []
    for mode in DOWNSAMPLE_MODES:
        model = nets.build_classifier(factory, 4, downsample=mode)
        shapes.append({k: tuple(v.shape) for k, v in model.state_dict().items()})
    assert shapes[0] == shapes[1]
    with pytest.raises(ValueError, match="downsample"):
        nets.build_classifier(factory, 4, downsample="maxpool")


@pytest.mark.parametrize("factory", FACTORIES)
def test_binomial_downsampling_has_no_gradient_subgrid(factory):
    """Stride-2 convolutions and max pooling leave a sub-grid of input pixels with a small
    share of the input gradient (checkerboard explanations); binomial blur pooling does not
    (measured at this initialisation: min/max parity share 0.42-0.44 stride, 0.58-0.66 blur,
    0.95-0.98 binomial)."""
    paddle.seed(0)
    model = nets.build_classifier(factory, 4, downsample="binomial")
    model.eval()
    x = paddle.randn([1, 3, 64, 64])
    x.stop_gradient = False
    (g,) = paddle.grad([model(x)[0, 1]], [x])
    g = np.abs(g.numpy()).sum(axis=(0, 1))
    parity = [g[i::2, j::2].mean() for i in (0, 1) for j in (0, 1)]
    assert min(parity) > 0.8 * max(parity)
