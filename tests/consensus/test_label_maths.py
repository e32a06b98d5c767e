"""Eq. 1 and Eq. 2 of PSSL (arXiv 2207.03335) on hand-computed arrays."""
import numpy as np
import pytest

from paddleseg_pssl.consensus import label_maths as lm


def _deciles_reference(score: np.ndarray) -> np.ndarray:
    """The equation written literally, O(N^2): D = floor(Z / N * 10), Z = #strictly lower."""
    flat = score.ravel()
    n = flat.size
    z = np.array([(flat < v).sum() for v in flat])
    return np.floor(z / n * 10).astype(np.uint8).reshape(score.shape)


# ---- minmax_normalise --------------------------------------------------------------------

def test_minmax_hand_computed():
    out = lm.minmax_normalise(np.array([[2.0, 4.0, 6.0]]))
    np.testing.assert_allclose(out, [[0.0, 0.5, 1.0]])
    assert out.dtype == np.float32


def test_minmax_negative_values():
    np.testing.assert_allclose(lm.minmax_normalise(np.array([[-1.0], [1.0], [0.0]])),
                               [[0.0], [1.0], [0.5]])


@pytest.mark.parametrize("value", [0.0, 3.5, 1e-30])
def test_minmax_constant_map_gives_zeros_not_nan(value):
    out = lm.minmax_normalise(np.full((3, 5), value))
    assert not np.isnan(out).any()
    np.testing.assert_array_equal(out, np.zeros((3, 5)))


def test_minmax_rejects_nan_and_bad_shapes():
    with pytest.raises(ValueError, match="NaN"):
        lm.minmax_normalise(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="2-D"):
        lm.minmax_normalise(np.zeros(4))
    with pytest.raises(ValueError, match="empty"):
        lm.minmax_normalise(np.zeros((0, 3)))


# ---- consensus (Eq. 1) -------------------------------------------------------------------

def test_consensus_is_pixelwise_mean():
    a = np.array([[0.0, 1.0], [0.5, 0.25]])
    b = np.array([[1.0, 1.0], [0.0, 0.75]])
    c = np.array([[0.5, 0.0], [1.0, 0.5]])
    np.testing.assert_allclose(lm.consensus([a, b, c]), [[0.5, 2 / 3], [0.5, 0.5]], rtol=1e-6)


def test_consensus_single_map_is_identity_and_errors():
    a = np.array([[0.1, 0.9]])
    np.testing.assert_allclose(lm.consensus([a]), a, rtol=1e-6)
    with pytest.raises(ValueError, match="at least one"):
        lm.consensus([])
    with pytest.raises(ValueError, match="shape"):
        lm.consensus([np.zeros((2, 2)), np.zeros((2, 3))])


# ---- deciles (Eq. 2) ---------------------------------------------------------------------

def test_deciles_ten_distinct_values():
    score = np.array([[9, 3, 5, 1, 7], [0, 2, 4, 6, 8]], dtype=float)
    # Z = the value itself (values are 0..9), N = 10 -> D = Z.
    np.testing.assert_array_equal(lm.deciles(score), score.astype(np.uint8))


def test_deciles_ties_share_a_decile():
    # Z = [0, 0, 2, 2], N = 4 -> floor(Z * 10 / 4) = [0, 0, 5, 5]
    np.testing.assert_array_equal(lm.deciles(np.array([[1.0, 1.0], [2.0, 2.0]])), [[0, 0], [5, 5]])
    # Z = [0, 1, 1, 1, 4], N = 5 -> [0, 2, 2, 2, 8]: three tied pixels, none reaches 9
    np.testing.assert_array_equal(lm.deciles(np.array([[0.0, 0.5, 0.5, 0.5, 1.0]])),
                                  [[0, 2, 2, 2, 8]])


def test_deciles_odd_sizes():
    # N = 3: Z = [1, 0, 2] -> floor([10/3, 0, 20/3]) = [3, 0, 6]
    np.testing.assert_array_equal(lm.deciles(np.array([[0.5], [0.1], [0.9]])), [[3], [0], [6]])
    # N = 7: Z = 0..6 -> floor(Z * 10 / 7) = [0, 1, 2, 4, 5, 7, 8]
    np.testing.assert_array_equal(lm.deciles(np.arange(7.0).reshape(1, 7)),
                                  [[0, 1, 2, 4, 5, 7, 8]])
    # N = 1: Z = 0 -> 0
    np.testing.assert_array_equal(lm.deciles(np.array([[42.0]])), [[0]])


def test_deciles_constant_map_is_all_zero():
    out = lm.deciles(np.full((5, 7), 0.3))
    assert out.dtype == np.uint8 and out.shape == (5, 7) and not out.any()


def test_deciles_top_decile_holds_a_tenth_of_distinct_pixels():
    score = np.arange(200.0).reshape(10, 20)[::-1]
    d = lm.deciles(score)
    assert d.max() == 9
    assert np.count_nonzero(d == 9) == 20
    assert set(np.bincount(d.ravel()).tolist()) == {20}


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (7, 11), (13, 2), (1, 31)])
@pytest.mark.parametrize("levels", [2, 5, 1000])
def test_deciles_match_literal_equation(shape, levels):
    rng = np.random.default_rng(sum(shape) * levels)
    score = rng.integers(0, levels, size=shape).astype(float) / levels
    np.testing.assert_array_equal(lm.deciles(score), _deciles_reference(score))


def test_deciles_large_map_is_fast_enough():
    score = np.random.default_rng(0).random((1024, 1024)).astype(np.float32)
    d = lm.deciles(score)  # an O(N^2) version would not finish
    assert np.bincount(d.ravel(), minlength=10).min() > 0.099 * score.size


# ---- resize_map and the pipeline ---------------------------------------------------------

def test_resize_map_shape_identity_and_constant():
    a = np.random.default_rng(1).random((5, 9)).astype(np.float32)
    assert lm.resize_map(a, (5, 9)) is not None
    np.testing.assert_array_equal(lm.resize_map(a, (5, 9)), a)
    out = lm.resize_map(np.full((4, 4), 0.25), (7, 3))
    assert out.shape == (7, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, 0.25)
    with pytest.raises(ValueError, match="out_hw"):
        lm.resize_map(a, (0, 3))


def test_consensus_deciles_pipeline_hand_computed():
    # model 1 ranks left-to-right, model 2 is constant (contributes zeros after min-max).
    m1 = np.array([[10.0, 20.0, 30.0, 40.0]])
    m2 = np.full((1, 4), 7.0)
    d, s = lm.consensus_deciles([m1, m2], (1, 4))
    np.testing.assert_allclose(s, [[0.0, 1 / 6, 1 / 3, 0.5]], rtol=1e-6)
    np.testing.assert_array_equal(d, [[0, 2, 5, 7]])  # Z = 0..3, N = 4
    assert d.dtype == np.uint8 and s.dtype == np.float32


def test_consensus_deciles_resizes_models_of_other_sizes():
    m1 = np.random.default_rng(2).random((8, 8))
    m2 = np.random.default_rng(3).random((6, 10))
    d, s = lm.consensus_deciles([m1, m2], (5, 7))
    assert d.shape == s.shape == (5, 7)
    assert 0.0 <= s.min() and s.max() <= 1.0
    assert d.max() == 9 and d.min() == 0


# ---- per-model normalisation ---------------------------------------------------------------

def test_minmax_normalisation_is_the_default_and_the_papers():
    score = np.array([[0.0, 1.0], [2.0, 4.0]])
    np.testing.assert_allclose(lm.normalise(score), lm.minmax_normalise(score))
    assert lm.DEFAULT_NORMALISATION == "minmax"


def test_percentile_clip_keeps_one_hot_pixel_from_flattening_the_map():
    """One pixel 100x the rest: min-max squashes everything else near 0, clip_p99 keeps the
    ramp spread over [0, 1] (and the hot pixel at 1)."""
    score = np.tile(np.linspace(0.0, 1.0, 100), (10, 1))
    score[0, 0] = 100.0
    squashed = lm.normalise(score, "minmax")
    clipped = lm.normalise(score, "clip_p99")
    assert squashed[5].max() <= 0.011
    assert clipped[0, 0] == 1.0 and clipped.min() == 0.0
    assert clipped[5, 50] > 0.4


def test_unknown_normalisation_is_refused():
    with pytest.raises(ValueError, match="normalisation must be one of"):
        lm.normalise(np.ones((2, 2)), "zscore")


def test_consensus_deciles_uses_the_normalisation():
    hot = np.tile(np.linspace(0.0, 1.0, 20), (20, 1))
    hot[0, 0] = 1e4
    other = np.tile(np.linspace(1.0, 0.0, 20), (20, 1))
    minmax, _ = lm.consensus_deciles([hot, other], (20, 20), "minmax")
    clipped, _ = lm.consensus_deciles([hot, other], (20, 20), "clip_p99")
    # min-max: the hot map is ~0 except one pixel, so the other map decides the right side
    assert minmax[:, -1].mean() < minmax[:, 0].mean()
    assert not np.array_equal(minmax, clipped)
