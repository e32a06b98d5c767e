"""The perfect explainers behind docs/results.md's "What limits the miniature's labels"
(benchmarks/miniature_label_limit.py) label what they claim to."""
import sys

import numpy as np

from paddleseg_pssl.constants import TOP_DECILE
from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
import miniature_label_limit as limit  # noqa: E402


def _square(side: int = 64, lo: int = 16, hi: int = 48) -> np.ndarray:
    mask = np.zeros((side, side), bool)
    mask[lo:hi, lo:hi] = True
    return mask


def test_a_perfect_region_detector_labels_only_object_pixels_as_d9():
    mask = _square()
    top = limit.region_deciles(mask) == TOP_DECILE
    assert top.any() and mask[top].all()


def test_a_perfect_outline_detector_labels_both_sides_of_the_boundary():
    mask = _square()
    distance = limit.boundary_distance(mask)
    top = limit.outline_deciles(distance) == TOP_DECILE
    assert (distance[top] <= 2).all()
    assert 0.25 < mask[top].mean() < 0.75
