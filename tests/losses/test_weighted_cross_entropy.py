"""WeightedCrossEntropyLoss: Eq. 3 by hand, against paddle's and PaddleSeg's weighted CE."""
import math

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

import paddleseg_pssl  # noqa: F401  (registration, compatibility fixes)
from paddleseg.core.train import loss_computation
from paddleseg.cvlibs import manager
from paddleseg.models.losses import CrossEntropyLoss

from paddleseg_pssl.losses import WeightedCrossEntropyLoss


def random_case(num_classes, ignore, shape=(2, 6, 7), seed=0):
    rng = np.random.default_rng(seed)
    n, h, w = shape
    logit = paddle.to_tensor(rng.normal(size=(n, num_classes, h, w)).astype("float32"))
    label = rng.integers(0, num_classes, size=shape)
    label[0, :2] = num_classes - 1        # plenty of background
    label[-1, -1, :3] = ignore             # some ignored pixels
    return logit, paddle.to_tensor(label.astype("int64"))


def paddle_reference(logit, label, weights, ignore):
    """paddle's weighted mean: sum_x w_y l_x / sum_x w_y over non-ignored x."""
    return F.cross_entropy(logit.transpose([0, 2, 3, 1]), label,
                           weight=paddle.to_tensor(weights, dtype="float32"), ignore_index=ignore)


def test_hand_computed_two_pixels():
    # Pixel a: class 0, logits (0, ln 3, 0) -> p0 = 1/5. Pixel b: background 2, same logits -> 1/5.
    logit = paddle.to_tensor([[[[0.0, 0.0]], [[math.log(3), math.log(3)]], [[0.0, 0.0]]]])
    label = paddle.to_tensor([[[0, 2]]])
    loss = WeightedCrossEntropyLoss(background_weight=0.1)(logit, label)
    expected = (1.0 * math.log(5) + 0.1 * math.log(5)) / (1.0 + 0.1)
    assert float(loss) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("num_classes", [3, 21, 256, 1001])
@pytest.mark.parametrize("background_weight", [0.1, 0.001, 1.0])
def test_equals_paddle_weighted_cross_entropy(num_classes, background_weight):
    loss_fn = WeightedCrossEntropyLoss(background_weight=background_weight)
    ignore = 255 if num_classes <= 255 else num_classes
    logit, label = random_case(num_classes, ignore, shape=(2, 3, 4))
    weights = [1.0] * (num_classes - 1) + [background_weight]
    np.testing.assert_allclose(loss_fn.class_weights(num_classes).numpy(), weights)
    np.testing.assert_allclose(float(loss_fn(logit, label)),
                               float(paddle_reference(logit, label, weights, ignore)), rtol=1e-5)


def test_equals_paddleseg_cross_entropy_with_weight_list():
    num_classes = 1001
    logit, label = random_case(num_classes, 1001, shape=(1, 4, 5))
    weights = [1.0] * 1000 + [0.1]          # the list PaddleSeg's configs/pssl/*.yml spell out
    ours = WeightedCrossEntropyLoss(ignore_index=1001)(logit, label)
    try:
        theirs = CrossEntropyLoss(weight=weights, ignore_index=1001)(logit, label)
    except TypeError as e:                 # int64 * float32 mask on Paddle 3 before compat
        pytest.skip(f"PaddleSeg's CrossEntropyLoss fails on this Paddle without compat: {e}")
    np.testing.assert_allclose(float(ours), float(theirs), rtol=1e-5)


def test_equals_paddleseg_formula_replica():
    """PaddleSeg's reduction written out: mean(l * w * mask) / (mean(w * mask) + 1e-8)."""
    logit, label = random_case(5, 255)
    weights = np.array([1, 1, 1, 1, 0.1], dtype="float32")
    nll = F.cross_entropy(logit.transpose([0, 2, 3, 1]), label, ignore_index=255,
                          reduction="none").numpy()
    y = label.numpy()
    mask = (y != 255).astype("float32")
    coef = np.where(mask > 0, weights[np.where(mask > 0, y, 0)], 0)
    expected = (nll.reshape(y.shape) * coef).mean() / (coef.mean() + 1e-8)
    assert float(WeightedCrossEntropyLoss()(logit, label)) == pytest.approx(expected, rel=1e-5)


def test_background_weight_one_is_plain_mean_cross_entropy():
    logit, label = random_case(4, 255)
    plain = F.cross_entropy(logit, label, axis=1, ignore_index=255)
    assert float(WeightedCrossEntropyLoss(background_weight=1.0)(logit, label)) == \
        pytest.approx(float(plain), rel=1e-5)


def test_explicit_background_index_nhwc_and_channel_label():
    logit, label = random_case(6, 255)
    weights = [1, 1, 0.1, 1, 1, 1]
    expected = float(paddle_reference(logit, label, weights, 255))
    loss_fn = WeightedCrossEntropyLoss(background_index=2, data_format="NHWC")
    got = loss_fn(logit.transpose([0, 2, 3, 1]), label.unsqueeze(-1))
    assert float(got) == pytest.approx(expected, rel=1e-5)
    got = WeightedCrossEntropyLoss(background_index=2)(logit, label.unsqueeze(1))
    assert float(got) == pytest.approx(expected, rel=1e-5)


def test_default_ignore_index_follows_class_count():
    loss_fn = WeightedCrossEntropyLoss()
    assert loss_fn.resolve(21) == (20, 255)
    assert loss_fn.resolve(1001) == (1000, 1001)
    with pytest.raises(ValueError, match="background_index 5 is not a class"):
        WeightedCrossEntropyLoss(background_index=5).resolve(5)


def test_all_ignored_gives_zero_not_nan():
    logit, _ = random_case(3, 255)
    label = paddle.full([2, 6, 7], 255, dtype="int64")
    assert float(WeightedCrossEntropyLoss()(logit, label)) == 0.0


def test_gradient_matches_reference():
    logit, label = random_case(5, 255)
    a = logit.clone()
    a.stop_gradient = False
    b = logit.clone()
    b.stop_gradient = False
    WeightedCrossEntropyLoss()(a, label).backward()
    paddle_reference(b, label, [1, 1, 1, 1, 0.1], 255).backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-7)


def test_inside_mixed_loss_and_with_auxiliary_head():
    """losses: types: [MixedLoss(WCE, WCE w_B=1), WCE], coef: [1, 0.4], as PaddleSeg runs it.

    (Not DiceLoss in the mix: PaddleSeg 2.8's DiceLoss rewrites ignored labels to 0 in place,
    which changes the labels every later loss sees.)
    """
    build = manager.LOSSES["WeightedCrossEntropyLoss"]
    mixed = manager.LOSSES["MixedLoss"](losses=[build(), build(background_weight=1.0)],
                                        coef=[1.0, 0.5])
    losses = {"types": [mixed, build()], "coef": [1, 0.4]}
    logit, label = random_case(4, 255)
    aux_logit, _ = random_case(4, 255, seed=1)
    parts = [float(p) for p in loss_computation([logit, aux_logit], label, None, losses)]
    weights = [1, 1, 1, 0.1]
    expected = [float(paddle_reference(logit, label, weights, 255)),
                0.5 * float(F.cross_entropy(logit, label, axis=1, ignore_index=255)),
                0.4 * float(paddle_reference(aux_logit, label, weights, 255))]
    np.testing.assert_allclose(parts, expected, rtol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="background_weight must be >= 0"):
        WeightedCrossEntropyLoss(background_weight=-1)
    with pytest.raises(ValueError, match="data_format must be"):
        WeightedCrossEntropyLoss(data_format="CHW")


def test_warns_when_ignore_index_is_a_class(monkeypatch):
    messages = []
    monkeypatch.setattr("paddleseg_pssl.losses.weighted_cross_entropy.logger.warning",
                        messages.append)
    loss_fn = WeightedCrossEntropyLoss(ignore_index=255)
    logit, label = random_case(300, 255, shape=(1, 2, 2))
    loss_fn(logit, label)
    loss_fn(logit, label)
    assert len(messages) == 1 and "ignore_index 255 is a class id" in messages[0]
