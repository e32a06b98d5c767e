"""Our fast SmoothGrad as an InterpretDL interpreter: InterpretDL's call style and results, on
its own and inside InterpretDL's ConsensusInterpreter."""
import numpy as np
import paddle
import pytest
from interpretdl import ConsensusInterpreter, SmoothGradInterpreter

from paddleseg_pssl.consensus.explain.engine_base import AGGREGATIONS
from paddleseg_pssl.consensus.explain.interpreter import FastSmoothGradInterpreter


def _model(seed: int):
    paddle.seed(seed)
    model = paddle.vision.models.resnet18(pretrained=False, num_classes=6)
    model.eval()
    return model


@pytest.fixture(scope="module")
def images():
    """Two uint8 RGB images, as InterpretDL users pass arrays."""
    return np.random.RandomState(4).randint(0, 256, (2, 32, 40, 3), dtype=np.uint8)


def _rel_err(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def test_equals_interpretdls_smoothgrad_on_the_same_noise(images):
    np.random.seed(7)
    ref = SmoothGradInterpreter(_model(0), device="cpu").interpret(
        images, labels=[1, 4], n_samples=4, visual=False)
    model = _model(0)   # same weights; InterpretDL's call left parameter gradients on its own
    flags = [p.stop_gradient for p in model.parameters()]
    np.random.seed(7)
    ours = FastSmoothGradInterpreter(model, device="cpu", batch_size=3).interpret(
        images, labels=[1, 4], n_samples=4, visual=False)
    assert ours.shape == ref.shape == (2, 3, 32, 40)
    assert np.abs(ref).max() > 0 and _rel_err(ours, ref) < 1e-4
    # the model is left as it was: trainable flags restored, no parameter gradients
    assert [p.stop_gradient for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters())


def test_runs_under_interpretdls_consensus_interpreter(images):
    models = [_model(1), _model(2)]
    np.random.seed(3)
    both = ConsensusInterpreter(FastSmoothGradInterpreter, models, device="cpu",
                                aggregation="mean_of_abs").interpret(
        images[:1], labels=[2], n_samples=3)
    assert both.shape == (2, 3, 32, 40)
    np.random.seed(3)
    first = FastSmoothGradInterpreter(models[0], device="cpu", aggregation="mean_of_abs"
                                      ).interpret(images[:1], labels=[2], n_samples=3,
                                                  visual=False)
    np.testing.assert_allclose(both[:1], first, rtol=1e-5)
    assert (both >= 0).all()   # mean of |g|


def test_every_aggregation_is_an_option(images):
    """On the same device noise: mean |g| >= |mean g|, mean g^2 >= (mean g)^2, and gradient x
    input is the mean gradient times InterpretDL's normalised input."""
    from interpretdl.data_processor.readers import images_transform_pipeline

    out = {agg: FastSmoothGradInterpreter(_model(0), device="cpu", aggregation=agg,
                                          noise_source="device", seed=5).interpret(
        images[:1], labels=[0], n_samples=3, visual=False) for agg in AGGREGATIONS}
    mean = out["abs_of_mean"]
    assert np.abs(mean).max() > 0 and (mean < 0).any()           # signed, as InterpretDL's
    assert (out["mean_of_abs"] >= np.abs(mean) - 1e-12).all()
    assert (out["squared"] >= mean ** 2 - 1e-12).all()
    gap = np.abs(out["mean_of_abs"] - np.abs(mean)).max()
    assert gap > 1e-3 * out["mean_of_abs"].max()                 # noise signs do not cancel
    _, data = images_transform_pipeline(images[:1], 224, None)
    np.testing.assert_allclose(out["grad_x_input"], mean * data, rtol=1e-5,
                               atol=1e-6 * np.abs(mean * data).max())


def test_saves_interpretdls_visualisation(images, tmp_path):
    path = tmp_path / "sg.png"
    FastSmoothGradInterpreter(_model(0), device="cpu").interpret(
        images[:1], labels=[0], n_samples=1, visual=False, save_path=str(path))
    assert path.stat().st_size > 0
