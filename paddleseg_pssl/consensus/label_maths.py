"""Pure label maths of PSSL (Li et al., arXiv 2207.03335, Section 3, Eq. 1 and 2), on numpy
arrays only (tested on hand-computed arrays). For one image explained by M classifiers::

    per-model score maps S_i (any size, float, >= 0)
        -> optionally smooth each (Gaussian, sigma a fraction of the short side): pixel
           gradients are speckled, the objects they point at are regions
        -> normalise each to [0, 1]: min-max (the paper), optionally after clipping at a high
           percentile (``clip_p99``, as SmoothGrad's own visualisation does)
        -> resize_map each to the label size (h, w)  (bilinear)
        -> consensus: S = 1/M sum_i S_i              (Eq. 1)
        -> deciles: D = floor(Z / N * 10)            (Eq. 2, Z = #pixels strictly lower)
"""
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np

from paddleseg_pssl.constants import DECILE_COUNT


def _as_2d_float(score: np.ndarray, name: str = "score") -> np.ndarray:
    """A 2-D, non-empty, finite float view of ``score`` (float32 and float64 kept as they are)."""
    arr = np.asarray(score)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D HxW map, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    # NaN propagates into min/max and inf is the max or min: two reductions check everything.
    if not (np.isfinite(arr.min()) and np.isfinite(arr.max())):
        raise ValueError(f"{name} contains NaN or infinite values "
                         f"({int(np.count_nonzero(~np.isfinite(arr)))} of {arr.size} pixels)")
    return arr


def minmax_normalise(score: np.ndarray) -> np.ndarray:
    """Rescale a score map to [0, 1] by min-max over the image (per model, before Eq. 1): HxW
    float32; a constant map (no information) gives all zeros, never NaN."""
    arr = _as_2d_float(score)
    lo, hi = float(arr.min()), float(arr.max())
    span = hi - lo
    if not span > 0:
        return np.zeros(arr.shape, dtype=np.float32)
    out = (arr - lo) * (1.0 / span)
    return np.clip(out, 0.0, 1.0, out=out).astype(np.float32, copy=False)


#: Per-model normalisations: name -> upper percentile clipped before min-max (None: no clip).
NORMALISATIONS: Dict[str, Optional[float]] = {"minmax": None, "clip_p99": 99.0}
#: The per-model normalisation of the paper (Section 3: min-max over the image).
DEFAULT_NORMALISATION: str = "minmax"


def normalise(score: np.ndarray, method: str = DEFAULT_NORMALISATION) -> np.ndarray:
    """Per-model normalisation to [0, 1] by ``method`` (:data:`NORMALISATIONS`). ``clip_p99``
    clips at the 99th percentile first, so a few extreme pixels do not squash the rest of the
    map towards 0 (and thereby its weight in the consensus)."""
    if method not in NORMALISATIONS:
        raise ValueError(f"normalisation must be one of {list(NORMALISATIONS)}, got {method!r}")
    percentile = NORMALISATIONS[method]
    if percentile is None:
        return minmax_normalise(score)
    arr = _as_2d_float(score)
    return minmax_normalise(np.minimum(arr, np.percentile(arr, percentile)))


#: No smoothing of the per-model maps (the paper states none).
NO_SMOOTHING: float = 0.0
#: The generator's ``consensus.smoothing``, from ``benchmarks/label_quality_real.py`` (README,
#: "Label quality on real photos"): 0.02 to 0.08 scored alike, far above none; 0.04 is the middle.
DEFAULT_SMOOTHING: float = 0.04


def smooth_map(score: np.ndarray, sigma_fraction: float = NO_SMOOTHING) -> np.ndarray:
    """Gaussian blur of a score map, sigma = ``sigma_fraction`` x the map's short side
    (0: the map unchanged, as float32). Scale-free, so a map's smoothing does not depend on
    the explanation resolution."""
    if isinstance(sigma_fraction, bool) or not sigma_fraction >= 0:
        raise ValueError(f"smoothing must be a fraction >= 0 of the short side, "
                         f"got {sigma_fraction!r}")
    arr = _as_2d_float(score).astype(np.float32)
    if sigma_fraction == 0:
        return arr
    sigma = float(sigma_fraction) * min(arr.shape)
    return cv2.GaussianBlur(arr, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)


def prepare_model_map(score: np.ndarray, normalisation: str = DEFAULT_NORMALISATION,
                      smoothing: float = NO_SMOOTHING) -> np.ndarray:
    """One model's raw map made ready for Eq. 1: smoothed, then normalised to [0, 1]."""
    return normalise(smooth_map(score, smoothing), normalisation)


def consensus(maps: Sequence[np.ndarray]) -> np.ndarray:
    """Eq. 1: the pixel-wise mean S(x) = 1/M sum_i S_i(x) of M same-sized normalised maps, HxW
    float32 (accumulated in float64, in the order given)."""
    if len(maps) == 0:
        raise ValueError("consensus needs at least one map, got 0")
    arrays = [_as_2d_float(m, f"maps[{i}]") for i, m in enumerate(maps)]
    shape = arrays[0].shape
    for i, arr in enumerate(arrays):
        if arr.shape != shape:
            raise ValueError(f"maps[{i}] has shape {arr.shape}, expected {shape} like maps[0]; "
                             "resize every map to one resolution first (resize_map)")
    total = np.zeros(shape, dtype=np.float64)
    for arr in arrays:
        total += arr
    total *= 1.0 / len(arrays)
    return total.astype(np.float32)


def deciles(score: np.ndarray) -> np.ndarray:
    """Eq. 2: D(x) = floor(Z(x) / N * 10), Z(x) = number of pixels with a strictly lower score;
    HxW uint8 in 0..9 (ties share Z, so a constant map is all 0). One sort: in sorted order,
    Z of a value is the position of its first occurrence; Z * 10 // N avoids float rounding."""
    arr = _as_2d_float(score)
    flat = arr.ravel()
    n = flat.size
    order = np.argsort(flat)                 # any order among ties: they get the same Z
    ordered = flat[order]
    starts_run = np.empty(n, dtype=bool)
    starts_run[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts_run[1:])
    strictly_lower = np.where(starts_run, np.arange(n), 0)
    np.maximum.accumulate(strictly_lower, out=strictly_lower)
    out = np.empty(n, dtype=np.uint8)
    out[order] = (strictly_lower * DECILE_COUNT) // n
    return out.reshape(arr.shape)


def resize_map(score: np.ndarray, out_hw: Tuple[int, int]) -> np.ndarray:
    """Bilinear resize of an HxW map to ``out_hw`` = (height, width), as float32."""
    arr = np.asarray(score, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"score must be a 2-D HxW map, got shape {arr.shape}")
    h, w = int(out_hw[0]), int(out_hw[1])
    if h <= 0 or w <= 0:
        raise ValueError(f"out_hw must be two positive sizes, got {tuple(out_hw)}")
    if arr.shape == (h, w):
        return arr
    return cv2.resize(arr, (w, h), interpolation=cv2.INTER_LINEAR)


def consensus_deciles(per_model_maps: Sequence[np.ndarray], out_hw: Tuple[int, int],
                      normalisation: str = DEFAULT_NORMALISATION,
                      smoothing: float = NO_SMOOTHING) -> Tuple[np.ndarray, np.ndarray]:
    """The label pipeline: per-model smoothing and normalisation, resize to ``out_hw``, mean
    (Eq. 1), deciles (Eq. 2). Returns the HxW uint8 deciles and float32 consensus in [0, 1]."""
    if len(per_model_maps) == 0:
        raise ValueError("consensus_deciles needs at least one per-model map, got 0")
    normalised = [resize_map(prepare_model_map(m, normalisation, smoothing), out_hw)
                  for m in per_model_maps]
    score = consensus(normalised)
    return deciles(score), score
