"""Quality of PSSL decile maps against ground-truth masks (Li et al., arXiv 2207.03335).

A PSSL label keeps the whole decile map D (Eq. 2), so every threshold d = 0..9 can be scored:
"D >= d" marks the top ``10 - d`` deciles as the object (the paper's label is d = 9). Over the
annotated pixels of each image, TP = D >= d inside the mask, FP = D >= d outside, FN = D < d
inside, giving precision, recall and IoU two ways:

- **micro**: counts summed over all images, then one ratio (large objects weigh more; never
  undefined). The headline numbers.
- **per-image mean**: the mean of each image's ratio; an image where it is 0/0 is left out of
  that mean (``n_defined`` counts the rest).

Pure numpy on in-memory arrays. Float maps are binned with the generator's own
:func:`paddleseg_pssl.consensus.label_maths.deciles`, exactly as the consensus was.
"""
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from paddleseg_pssl.consensus.label_maths import deciles
from paddleseg_pssl.constants import DECILE_COUNT, TOP_DECILE

#: Default spread of the centred prior: the Gaussian's sigma as a fraction of each side.
DEFAULT_PRIOR_SIGMA_FRACTION: float = 0.25

METRICS: Tuple[str, ...] = ("precision", "recall", "iou")


def top_k_to_threshold(top_k: int) -> int:
    """The decile threshold d of "the top ``top_k`` deciles": 1 -> 9 (D9), 2 -> 8 (D>=8), ..."""
    if not 1 <= int(top_k) <= DECILE_COUNT:
        raise ValueError(f"top_k must be in 1..{DECILE_COUNT}, got {top_k}")
    return DECILE_COUNT - int(top_k)


def decile_histograms(decile_map: np.ndarray, foreground: np.ndarray,
                      valid: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Per-decile pixel counts (two int64 arrays of 10) of one HxW decile map: of all valid
    pixels and of valid ``foreground`` pixels (``valid`` None: every pixel is annotated)."""
    d = np.asarray(decile_map)
    fg = np.asarray(foreground, dtype=bool)
    if d.shape != fg.shape:
        raise ValueError(f"decile map shape {d.shape} differs from mask shape {fg.shape}; "
                         "resize the mask to the label first (masks.resize_nearest)")
    if d.size and (d.min() < 0 or d.max() > TOP_DECILE):
        raise ValueError(f"decile map values must be in 0..{TOP_DECILE}, got "
                         f"{int(d.min())}..{int(d.max())}")
    d = d.astype(np.int64, copy=False)
    if valid is not None:
        v = np.asarray(valid, dtype=bool)
        if v.shape != d.shape:
            raise ValueError(f"valid map shape {v.shape} differs from decile map {d.shape}")
        d, fg = d[v], fg[v]
    all_hist = np.bincount(d.ravel(), minlength=DECILE_COUNT)
    fg_hist = np.bincount(d[fg].ravel(), minlength=DECILE_COUNT)
    return all_hist, fg_hist


def threshold_counts(all_hist: np.ndarray, fg_hist: np.ndarray
                     ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(TP, FP, FN) of every threshold "decile >= d", d = 0..9, from per-decile histograms."""
    predicted = np.cumsum(all_hist[::-1])[::-1]   # pixels with D >= d
    tp = np.cumsum(fg_hist[::-1])[::-1]           # foreground pixels with D >= d
    fp = predicted - tp
    fn = fg_hist.sum() - tp
    return tp, fp, fn


def ratios(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> Dict[str, np.ndarray]:
    """Precision, recall and IoU of count arrays; NaN where a ratio is 0/0."""
    tp, fp, fn = (np.asarray(a, dtype=np.float64) for a in (tp, fp, fn))
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "precision": np.where(tp + fp > 0, tp / (tp + fp), np.nan),
            "recall": np.where(tp + fn > 0, tp / (tp + fn), np.nan),
            "iou": np.where(tp + fp + fn > 0, tp / (tp + fp + fn), np.nan),
        }


def image_scores(decile_map: np.ndarray, foreground: np.ndarray,
                 valid: Optional[np.ndarray] = None, top_k: int = 1) -> Dict[str, float]:
    """Precision, recall and IoU of one image's top ``top_k`` deciles (NaN where 0/0)."""
    tp, fp, fn = threshold_counts(*decile_histograms(decile_map, foreground, valid))
    return {metric: float(values[top_k_to_threshold(top_k)])
            for metric, values in ratios(tp, fp, fn).items()}


@dataclass
class QualityAccumulator:
    """Accumulates threshold counts of one source (consensus, one model, prior) over images:
    :meth:`add` per image, then :meth:`result`."""
    name: str
    tp: np.ndarray = field(default_factory=lambda: np.zeros(DECILE_COUNT, np.int64))
    fp: np.ndarray = field(default_factory=lambda: np.zeros(DECILE_COUNT, np.int64))
    fn: np.ndarray = field(default_factory=lambda: np.zeros(DECILE_COUNT, np.int64))
    decile_pixels: np.ndarray = field(default_factory=lambda: np.zeros(DECILE_COUNT, np.int64))
    decile_fg_pixels: np.ndarray = field(
        default_factory=lambda: np.zeros(DECILE_COUNT, np.int64))
    per_image: Dict[str, List[np.ndarray]] = field(
        default_factory=lambda: {m: [] for m in METRICS})
    n_images: int = 0

    def add(self, decile_map: np.ndarray, foreground: np.ndarray,
            valid: Optional[np.ndarray] = None) -> None:
        """Add one image: its decile map and ground truth (same HxW)."""
        all_hist, fg_hist = decile_histograms(decile_map, foreground, valid)
        tp, fp, fn = threshold_counts(all_hist, fg_hist)
        self.tp += tp
        self.fp += fp
        self.fn += fn
        self.decile_pixels += all_hist
        self.decile_fg_pixels += fg_hist
        for metric, values in ratios(tp, fp, fn).items():
            self.per_image[metric].append(values)
        self.n_images += 1

    def result(self) -> "QualityResult":
        micro = ratios(self.tp, self.fp, self.fn)
        mean, defined = {}, {}
        for metric in METRICS:
            if self.per_image[metric]:
                stack = np.stack(self.per_image[metric])
                defined[metric] = np.sum(~np.isnan(stack), axis=0)
                with warnings.catch_warnings():  # an all-NaN column stays NaN, silently
                    warnings.simplefilter("ignore", RuntimeWarning)
                    mean[metric] = np.nanmean(stack, axis=0)
            else:
                defined[metric] = np.zeros(DECILE_COUNT, np.int64)
                mean[metric] = np.full(DECILE_COUNT, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            purity = np.where(self.decile_pixels > 0,
                              self.decile_fg_pixels / np.maximum(self.decile_pixels, 1), np.nan)
        return QualityResult(name=self.name, n_images=self.n_images, micro=micro, mean=mean,
                             n_defined=defined, decile_object_share=purity,
                             tp=self.tp.copy(), fp=self.fp.copy(), fn=self.fn.copy())


@dataclass
class QualityResult:
    """Scores of one source at every threshold d = 0..9 (index d = "decile >= d"): per metric
    (10,) ``micro`` ratios, per-image ``mean``s and the images in each (``n_defined``);
    ``decile_object_share``: share of mask pixels among the pixels of decile d exactly."""
    name: str
    n_images: int
    micro: Dict[str, np.ndarray]
    mean: Dict[str, np.ndarray]
    n_defined: Dict[str, np.ndarray]
    decile_object_share: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray

    def at_top_k(self, top_k: int, metric: str = "iou", average: str = "micro") -> float:
        """One number: ``metric`` of the top ``top_k`` deciles, ``average`` 'micro' or 'mean'."""
        table = self.micro if average == "micro" else self.mean
        return float(table[metric][top_k_to_threshold(top_k)])

    def mean_iou(self, top_ks: Sequence[int], average: str = "micro") -> float:
        """Mean IoU over the chosen thresholds (top-k decile counts)."""
        return float(np.mean([self.at_top_k(k, "iou", average) for k in top_ks]))

    def rows(self) -> List[Dict[str, float]]:
        """One flat dict per threshold, highest (D9) first: for CSV and tables."""
        out = []
        for d in range(TOP_DECILE, -1, -1):
            row = {"source": self.name, "threshold": d, "top_k": DECILE_COUNT - d,
                   "images": self.n_images}
            for metric in METRICS:
                row[f"micro_{metric}"] = float(self.micro[metric][d])
                row[f"mean_{metric}"] = float(self.mean[metric][d])
            row["decile_object_share"] = float(self.decile_object_share[d])
            out.append(row)
        return out


def centred_prior(shape: Tuple[int, int],
                  sigma_fraction: float = DEFAULT_PRIOR_SIGMA_FRACTION) -> np.ndarray:
    """A Gaussian score map centred in the image, the "object is in the middle" baseline:
    HxW float32 in (0, 1], sigma along each axis ``sigma_fraction`` of that side."""
    h, w = int(shape[0]), int(shape[1])
    if h <= 0 or w <= 0:
        raise ValueError(f"shape must be two positive sizes, got {tuple(shape)}")
    if sigma_fraction <= 0:
        raise ValueError(f"sigma_fraction must be > 0, got {sigma_fraction}")
    ys = (np.arange(h, dtype=np.float64) + 0.5 - h / 2.0) / (sigma_fraction * h)
    xs = (np.arange(w, dtype=np.float64) + 0.5 - w / 2.0) / (sigma_fraction * w)
    return np.exp(-0.5 * (ys[:, None] ** 2 + xs[None, :] ** 2)).astype(np.float32)


def centred_prior_deciles(shape: Tuple[int, int],
                          sigma_fraction: float = DEFAULT_PRIOR_SIGMA_FRACTION) -> np.ndarray:
    """Decile map (Eq. 2) of :func:`centred_prior`: the prior as if it were a PSSL label."""
    return deciles(centred_prior(shape, sigma_fraction))

