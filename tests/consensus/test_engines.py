"""Explainer engines: the batched engine against InterpretDL's SmoothGrad (the reference), the
aggregation modes on hand-made gradients, the probability target, seeding and config errors."""
import types

import numpy as np
import paddle
import pytest

from paddleseg_pssl.consensus.explain.engines import (AGGREGATIONS, MOMENTS,
                                                      BatchedSmoothGradEngine, EngineConfigError,
                                                      InterpretDLEngine, build_engine,
                                                      engine_from_config,
                                                      numpy_smoothgrad_noise, reduce_moments)
from paddleseg_pssl.consensus.explain.engine_base import (DEFAULT_AGGREGATION, DEFAULT_GRADIENT_OF,
                                                          DEFAULT_N_SAMPLES, DEFAULT_NOISE_AMOUNT)
from paddleseg_pssl.consensus.explain.classifier_loading import build_classifier
from paddleseg_pssl.consensus.explain.ensemble import parse_ensemble
from paddleseg_pssl.consensus.run import image_loop
from paddleseg_pssl.consensus.run.generate_config import ConsensusConfig

N_SAMPLES = 4


def _rel_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


@pytest.fixture(scope="module")
def tiny_model():
    paddle.seed(0)
    spec = parse_ensemble([{"arch": "resnet18"}], num_classes=5)[0]
    return build_classifier(spec, check_size=32)


@pytest.fixture(scope="module")
def image():
    return np.random.RandomState(1).randn(1, 3, 32, 32).astype("float32")


class SquareHalf(paddle.nn.Layer):
    """logit_0 = sum(x^2) / 2 (gradient = x), logit_1 = 0: hand-computable gradients."""

    def forward(self, x):
        s = (x * x).sum(axis=[1, 2, 3]) / 2
        return paddle.stack([s, paddle.zeros_like(s)], axis=1)


class Linear(paddle.nn.Layer):
    def __init__(self, weight: np.ndarray):
        super().__init__()
        self.weight = self.create_parameter(
            weight.shape, default_initializer=paddle.nn.initializer.Assign(weight))

    def forward(self, x):
        return paddle.matmul(x.flatten(1), self.weight)


# ---- agreement with the reference ---------------------------------------------------------

@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_engines_agree_given_the_same_noise(tiny_model, image, aggregation):
    noise = numpy_smoothgrad_noise(image, N_SAMPLES, 0.1, seed=11)
    cfg = dict(n_samples=N_SAMPLES, aggregation=aggregation)
    ref = build_engine("interpretdl", **cfg).explain(tiny_model, image, 3, seed=0, noise=noise)
    ours = build_engine("batched", **cfg).explain(tiny_model, image, 3, seed=0, noise=noise)
    assert ref.shape == ours.shape == (32, 32) and ours.dtype == np.float32
    assert np.abs(ref).max() > 0
    assert _rel_err(ours, ref) < 1e-4


def test_numpy_noise_reproduces_interpretdl_seeding(tiny_model, image):
    """InterpretDL seeded as is (np.random.seed) == batched engine given numpy_smoothgrad_noise."""
    ref = build_engine("interpretdl", n_samples=N_SAMPLES).explain(tiny_model, image, 1, seed=5)
    noise = numpy_smoothgrad_noise(image, N_SAMPLES, DEFAULT_NOISE_AMOUNT, seed=5)
    ours = build_engine("batched", n_samples=N_SAMPLES).explain(tiny_model, image, 1, 0, noise)
    assert _rel_err(ours, ref) < 1e-4


def test_numpy_noise_source_matches_interpretdl_for_a_seed(tiny_model, image):
    ref = build_engine("interpretdl", n_samples=N_SAMPLES).explain(tiny_model, image, 0, seed=21)
    ours = build_engine("batched", n_samples=N_SAMPLES, noise_source="numpy").explain(
        tiny_model, image, 0, seed=21)
    assert _rel_err(ours, ref) < 1e-4


def test_chunk_size_does_not_change_the_map(tiny_model, image):
    maps = [build_engine("batched", n_samples=N_SAMPLES, batch_size=bs).explain(
        tiny_model, image, 2, seed=9) for bs in (1, 3, N_SAMPLES, 64)]
    for m in maps[1:]:
        assert _rel_err(m, maps[0]) < 1e-4


def test_seeding_is_deterministic_and_leaves_global_rngs_alone(tiny_model, image):
    # noise 0.1: at larger noise the tiny random model's probability saturates (zero maps)
    engine = build_engine("batched", n_samples=N_SAMPLES, noise_amount=0.1)
    np.random.seed(123)
    paddle.seed(123)
    a = engine.explain(tiny_model, image, 2, seed=9)
    b = engine.explain(tiny_model, image, 2, seed=9)
    c = engine.explain(tiny_model, image, 2, seed=10)
    build_engine("interpretdl", n_samples=1).explain(tiny_model, image, 2, seed=9)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    after_np, after_pd = np.random.rand(), float(paddle.rand([1]))
    np.random.seed(123)
    paddle.seed(123)
    assert after_np == np.random.rand() and after_pd == float(paddle.rand([1]))


def test_trainable_parameters_are_frozen_only_during_the_call(image):
    model = paddle.vision.models.resnet18(pretrained=False, num_classes=5)
    model.eval()
    flags = [p.stop_gradient for p in model.parameters()]
    assert not all(flags)  # trainable weights (BatchNorm statistics are frozen already)
    build_engine("batched", n_samples=2).explain(model, image, 0, seed=1)
    assert [p.stop_gradient for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters())


def test_square_models_label_at_the_image_size(tiny_model):
    """A ``resize: square`` model's map is resized back: the label has the image's size."""
    image = np.random.RandomState(2).randint(0, 256, (24, 40, 3), dtype=np.uint8)
    item = image_loop.ImageItem("a/x.jpg", "a", 1, "train/a/x.jpg.png")
    for resize in ("keep_aspect", "square"):
        spec = parse_ensemble([{"arch": "resnet18", "resize": resize, "input_size": 32}], 5)[0]
        ctx = types.SimpleNamespace(specs=[spec], models=[tiny_model],
                                    engine=build_engine("batched", n_samples=2),
                                    cfg=types.SimpleNamespace(seed=3, consensus=ConsensusConfig()))
        deciles, _ = image_loop.label_maths_of(ctx, image_loop.explain_models(ctx, item, image),
                                               image.shape[:2])
        assert deciles.shape == (24, 40) and deciles.max() > 0


# ---- the maths on hand-made cases -----------------------------------------------------------

@pytest.mark.parametrize("engine", ["batched", "interpretdl"])
def test_aggregation_modes_on_hand_made_gradients(engine):
    """gradient = x; input 0; noise +1 and -3 everywhere: mean of signed gradients = -1,
    mean of |gradients| = 2; the map sums 3 channels."""
    x = np.zeros((1, 3, 2, 2), np.float32)
    noise = np.stack([np.full((3, 2, 2), 1.0), np.full((3, 2, 2), -3.0)]).astype(np.float32)
    model = SquareHalf()
    cfg = dict(n_samples=2, gradient_of="logit")
    abs_of_mean = build_engine(engine, aggregation="abs_of_mean", **cfg).explain(
        model, x, 0, 0, noise)
    mean_of_abs = build_engine(engine, aggregation="mean_of_abs", **cfg).explain(
        model, x, 0, 0, noise)
    np.testing.assert_allclose(abs_of_mean, np.full((2, 2), 3.0), rtol=1e-6)
    np.testing.assert_allclose(mean_of_abs, np.full((2, 2), 6.0), rtol=1e-6)
    # symmetric noise cancels in abs_of_mean only
    sym = np.stack([np.ones((3, 2, 2)), -np.ones((3, 2, 2))]).astype(np.float32)
    assert np.abs(build_engine(engine, aggregation="abs_of_mean", **cfg).explain(
        model, x, 0, 0, sym)).max() == 0
    np.testing.assert_allclose(build_engine(engine, aggregation="mean_of_abs", **cfg).explain(
        model, x, 0, 0, sym), np.full((2, 2), 3.0), rtol=1e-6)


@pytest.mark.parametrize("engine", ["batched", "interpretdl"])
def test_squared_and_gradient_times_input_on_hand_made_gradients(engine):
    """gradient = x + noise; input 1 in channel 0, 0 elsewhere; noise +1 and -3: the mean of
    g^2 is (4 + 4) / 2 = 4 in channel 0 and (1 + 9) / 2 = 5 in the others (sum 14); gradient x
    input sees channel 0 only: |1 * mean g_0| = |(2 - 2) / 2| = 0."""
    x = np.zeros((1, 3, 2, 2), np.float32)
    x[0, 0] = 1.0
    noise = np.stack([np.full((3, 2, 2), 1.0), np.full((3, 2, 2), -3.0)]).astype(np.float32)
    cfg = dict(n_samples=2, gradient_of="logit")
    squared = build_engine(engine, aggregation="squared", **cfg).explain(
        SquareHalf(), x, 0, 0, noise)
    np.testing.assert_allclose(squared, np.full((2, 2), 14.0), rtol=1e-6)
    gxi = build_engine(engine, aggregation="grad_x_input", **cfg).explain(
        SquareHalf(), x, 0, 0, noise)
    np.testing.assert_allclose(gxi, np.zeros((2, 2)), atol=1e-6)
    x[0, 0] = 2.0   # g_0 = 3 and -1: mean 1, times input 2
    gxi = build_engine(engine, aggregation="grad_x_input", **cfg).explain(
        SquareHalf(), x, 0, 0, noise)
    np.testing.assert_allclose(gxi, np.full((2, 2), 2.0), rtol=1e-6)


@pytest.mark.parametrize("engine", ["batched", "interpretdl"])
def test_checkpoints_are_the_maps_of_the_first_samples(tiny_model, image, engine):
    """The moments after k samples equal an engine with n_samples = k on the first k samples,
    so one pass gives every sample count of a study."""
    noise = numpy_smoothgrad_noise(image, 6, 0.1, seed=5)
    full = build_engine(engine, n_samples=6, **({"batch_size": 4} if engine == "batched"
                                                 else {}))
    results = full.gradient_moments(tiny_model, image, 2, 0, noise, checkpoints=[1, 3])
    assert [m.n for m in results] == [1, 3, 6]
    for moments in results:
        for agg in AGGREGATIONS:
            alone = build_engine(engine, n_samples=moments.n, aggregation=agg).explain(
                tiny_model, image, 2, 0, noise[:moments.n])
            assert _rel_err(reduce_moments(moments, agg, image), alone) < 1e-4


def test_only_the_asked_moments_are_accumulated(tiny_model, image):
    engine = build_engine("batched", n_samples=2)
    (moments,) = engine.gradient_moments(tiny_model, image, 1, 0, moments=("sum_sq",))
    assert moments.sum is None and moments.sum_sq is not None
    with pytest.raises(ValueError, match="'sum' was not accumulated"):
        reduce_moments(moments, "abs_of_mean")
    with pytest.raises(ValueError, match="checkpoints"):
        engine.gradient_moments(tiny_model, image, 1, 0, checkpoints=[3])
    assert set(MOMENTS) == {"sum", "sum_abs", "sum_sq"}


@pytest.mark.parametrize("engine", ["batched", "interpretdl"])
def test_target_is_the_softmax_probability_of_the_label(engine):
    """d p_c / d x = p_c (W_c - sum_k p_k W_k) for logits = W^T x."""
    rs = np.random.RandomState(0)
    weight = rs.randn(3 * 2 * 2, 4).astype(np.float32)
    x = rs.randn(1, 3, 2, 2).astype(np.float32)
    logits = x.reshape(1, -1) @ weight
    p = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    label = 2
    grad = p[0, label] * (weight[:, label] - weight @ p[0])
    expected = np.abs(grad.reshape(3, 2, 2)).sum(0)
    got = build_engine(engine, n_samples=1).explain(
        Linear(weight), x, label, 0, np.zeros((1, 3, 2, 2), np.float32))
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_noise_scale_follows_interpretdl(image):
    noise = numpy_smoothgrad_noise(image, 200, 0.1, seed=3)
    sigma = 0.1 * (image.max() - image.min())
    assert noise.shape == (200, 3, 32, 32) and noise.dtype == np.float32
    assert abs(noise.std() / sigma - 1) < 0.01


def test_integrated_gradients_through_interpretdl(tiny_model, image):
    engine = engine_from_config({"engine": "interpretdl", "name": "integrated_gradients",
                                 "steps": 3})
    out = engine.explain(tiny_model, image, 4, seed=0)
    assert out.shape == (32, 32) and np.isfinite(out).all() and out.max() > 0
    assert engine.config()["name"] == "integrated_gradients"


# ---- configuration and argument errors --------------------------------------------------------

def test_defaults_and_config():
    engine = engine_from_config(None)
    assert isinstance(engine, BatchedSmoothGradEngine)
    assert (engine.n_samples, engine.noise_amount, engine.aggregation, engine.gradient_of) == (
        DEFAULT_N_SAMPLES, DEFAULT_NOISE_AMOUNT, DEFAULT_AGGREGATION, DEFAULT_GRADIENT_OF)
    assert engine.batch_size == "auto" and engine.resolved_amp() is False  # CPU
    ref = engine_from_config({"engine": "interpretdl", "name": "smoothgrad", "n_samples": 8})
    assert isinstance(ref, InterpretDLEngine) and ref.config()["n_samples"] == 8


@pytest.mark.parametrize("cfg, match", [
    ({"engine": "batchd"}, "did you mean 'batched'"),
    ({"n_sample": 3}, "did you mean 'n_samples'"),
    ({"name": "integrated_gradients"}, "needs engine: interpretdl"),
    ({"engine": "interpretdl", "name": "gradcam"}, "explainer.name"),
    ({"aggregation": "max"}, "explainer.aggregation"),
    ({"n_samples": 0}, "explainer.n_samples"),
    ({"batch_size": -1}, "explainer.batch_size"),
    ({"gradient_of": "loss"}, "explainer.gradient_of"),
    ({"engine": "interpretdl", "batch_size": 4}, "not a setting of engine 'interpretdl'"),
    ({"noise_source": "gpu"}, "explainer.noise_source"),
])
def test_config_errors_name_the_key(cfg, match):
    with pytest.raises(EngineConfigError, match=match):
        engine_from_config(cfg)


def test_argument_errors(tiny_model, image):
    engine = build_engine("batched", n_samples=2)
    with pytest.raises(ValueError, match="shape"):
        engine.explain(tiny_model, image[0], 0, seed=0)
    with pytest.raises(ValueError, match="float32"):
        engine.explain(tiny_model, image.astype(np.float64), 0, seed=0)
    with pytest.raises(ValueError, match="noise must have shape"):
        engine.explain(tiny_model, image, 0, 0, noise=np.zeros((3, 3, 32, 32), np.float32))
    with pytest.raises(ValueError, match="outside the model's 5 classes"):
        engine.explain(tiny_model, image, 5, seed=0)
    with pytest.raises(ValueError, match="seed"):
        engine.explain(tiny_model, image, 0, seed=-1)


def test_amp_path_unscales_its_gradients(tiny_model, image):
    """The AMP branch (GPU only in use) scales the target and divides the gradient back; on CPU,
    float16 autocast is a no-op, so both branches must give the same gradient."""
    engine = build_engine("batched", n_samples=2, amp=True)
    assert engine.resolved_amp() is False  # never on CPU
    x = paddle.to_tensor(image)
    interpreter = engine.interpreter(tiny_model)
    with_amp = interpreter._chunk_gradient(x + 0, 1, "probability", use_amp=True).numpy()
    without = interpreter._chunk_gradient(x + 0, 1, "probability", use_amp=False).numpy()
    assert _rel_err(with_amp, without) < 1e-5


def test_engine_signatures_take_their_defaults_from_engine_defaults():
    """Every engine setting named in ExplainerConfig defaults to its value there."""
    import dataclasses
    import inspect

    from paddleseg_pssl.consensus.explain.engines import ENGINES, ExplainerEngine
    from paddleseg_pssl.consensus.explain.engine_base import ENGINE_DEFAULTS

    declared = dataclasses.asdict(ENGINE_DEFAULTS)
    for cls in (ExplainerEngine, *ENGINES.values()):
        params = inspect.signature(cls.__init__).parameters
        shared = [name for name in params if name in declared]
        assert shared, cls
        for name in shared:
            assert params[name].default == declared[name], (cls.engine, name)
