"""MiniResNet backbone: PaddleSeg contract, and the classifier's trunk weights load into it."""
import paddle
import pytest
from paddleseg.cvlibs import manager

from paddleseg_pssl.models.backbones.mini_resnet import MiniResNet, MiniResNetBackbone
from paddleseg_pssl.miniature.classifiers import BACKBONE_NAME
from paddleseg_pssl.miniature.nets import mini_resnet


def test_registered_and_feat_channels():
    assert manager.BACKBONES[BACKBONE_NAME] is MiniResNet
    assert MiniResNet().feat_channels == [16, 32, 64, 128]


def test_feature_shapes_no_nan_and_gradients():
    paddle.seed(0)
    backbone = MiniResNet()
    feats = backbone(paddle.randn([2, 3, 96, 64]))
    assert [f.shape for f in feats] == [[2, c, 96 // s, 64 // s] for c, s in
                                        zip(backbone.feat_channels, (2, 4, 8, 16))]
    assert all(bool(paddle.isfinite(f).all()) for f in feats)
    sum(f.mean() for f in feats).backward()
    for name, p in backbone.named_parameters():
        if not p.stop_gradient:  # BatchNorm running statistics are not trained
            assert p.grad is not None, name


def test_classifier_weights_load_into_backbone(tmp_path):
    paddle.seed(1)
    classifier = mini_resnet(num_classes=10)
    path = str(tmp_path / "mini_resnet_a.pdparams")
    paddle.save(classifier.state_dict(), path)
    backbone = MiniResNet(pretrained=path)
    trunk = backbone.state_dict()
    saved = classifier.state_dict()
    assert set(trunk) <= set(saved)                     # every trunk key has a weight
    assert set(saved) - set(trunk) == {"fc.weight", "fc.bias"}
    for key, value in trunk.items():                    # ... and it was loaded
        assert bool(paddle.equal_all(value, saved[key])), key


def test_in_a_paddleseg_model():
    from paddleseg.models import FCN

    model = FCN(num_classes=9, backbone=MiniResNet(), backbone_indices=(-1,))
    model.eval()
    logits = model(paddle.randn([1, 3, 96, 96]))[0]
    assert logits.shape == [1, 9, 96, 96]


def test_mismatched_stage_spec_is_an_error():
    with pytest.raises(ValueError, match="one entry per stage"):
        MiniResNetBackbone(widths=(8, 16), depths=(1,), strides=(1, 2))


def test_backbone_and_classifier_twin_use_the_same_downsampling():
    """The registered backbone and mini_resnet's default trunk compute the same features."""
    paddle.seed(2)
    classifier = mini_resnet(num_classes=3)
    classifier.eval()
    backbone = MiniResNet()
    backbone.set_state_dict({k: v for k, v in classifier.state_dict().items()
                             if not k.startswith("fc.")})
    backbone.eval()
    x = paddle.randn([1, 3, 64, 80])
    for a, b in zip(backbone(x), classifier.forward_features(x)):
        assert bool(paddle.allclose(a, b))
