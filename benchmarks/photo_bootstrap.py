"""Paired bootstrap over photos for ``label_quality_real.py``: is one label setting worse than
another beyond the noise of which photos happened to be picked?

Scores are micro-averaged over pixels (as everywhere in the label-quality reports), so a
resample redraws whole photos with replacement and sums their per-decile pixel counts; the
difference of two settings is taken on the same resampled photos (paired).
"""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np

from paddleseg_pssl import pssl_format
from paddleseg_pssl.analysis import pssl_io
from paddleseg_pssl.analysis.label_quality import (decile_histograms, ratios, threshold_counts,
                                                   top_k_to_threshold)
from paddleseg_pssl.analysis.masks import MaskSpec, find_mask, load_mask

#: Photo resamples per comparison.
RESAMPLES = 2000
#: Central share of the resampled differences reported as the interval.
CONFIDENCE = 0.95


def micro_score(histograms: np.ndarray, top_k: int, metric: str) -> float:
    """The micro-averaged ``metric`` of the top ``top_k`` deciles of photos x 2 x 10 counts."""
    all_hist, fg_hist = histograms.sum(axis=0)
    return float(ratios(*threshold_counts(all_hist, fg_hist))[metric][top_k_to_threshold(top_k)])


def paired_difference(reference: np.ndarray, candidate: np.ndarray, top_k: int, metric: str,
                      resamples: int = RESAMPLES, seed: int = 0) -> Tuple[float, float, float]:
    """``candidate - reference`` on all photos, and the central :data:`CONFIDENCE` interval of
    that difference over photo resamples. Both: photos x 2 x 10 counts of the same photos."""
    if reference.shape != candidate.shape:
        raise ValueError(f"the two settings were scored on different photos: "
                         f"{reference.shape} vs {candidate.shape}")
    n = len(reference)
    draws = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=resamples)
    diffs = [micro_score(candidate * w[:, None, None], top_k, metric)
             - micro_score(reference * w[:, None, None], top_k, metric) for w in draws]
    tail = 100.0 * (1.0 - CONFIDENCE) / 2.0
    low, high = np.percentile(diffs, [tail, 100.0 - tail])
    return (micro_score(candidate, top_k, metric) - micro_score(reference, top_k, metric),
            float(low), float(high))


def label_histograms(pssl_root: str, mask_root: str, spec: MaskSpec) -> Dict[str, np.ndarray]:
    """Image path -> 2 x 10 counts of each listed label of a PSSL folder that has a mask."""
    out = {}
    for label_rel, image_rel in pssl_io.read_sample_list(pssl_root):
        mask_path = find_mask(mask_root, image_rel)
        if mask_path is None:
            continue
        deciles = pssl_io.read_decile_label(pssl_format.join_relpath(pssl_root, label_rel))
        fg, valid = load_mask(mask_path, spec, pssl_format.class_name_of_label(label_rel),
                              deciles.shape)
        out[image_rel] = np.stack(decile_histograms(deciles, fg, valid))
    return out


def paired_histograms(reference: Dict[str, np.ndarray], candidate: Dict[str, np.ndarray]
                      ) -> Tuple[np.ndarray, np.ndarray]:
    """The two settings' counts on the photos both labelled, in one order."""
    common = sorted(set(reference) & set(candidate))
    if not common:
        raise ValueError("the two settings share no labelled photo")
    return (np.array([reference[k] for k in common]), np.array([candidate[k] for k in common]))


def interval_text(difference: Tuple[float, float, float]) -> str:
    """``+0.004 [-0.010, +0.018]``."""
    d, low, high = difference
    return f"{d:+.3f} [{low:+.3f}, {high:+.3f}]"


def within_noise(difference: Tuple[float, float, float]) -> bool:
    """Not worse beyond the photos' noise: the interval reaches zero or above."""
    return difference[2] >= 0.0

