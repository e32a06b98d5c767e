"""Figures of the PSSL analyses (Li et al., arXiv 2207.03335), drawn with matplotlib's Agg:
threshold curves of label quality, Figure 2-style rows (image, each model's explanation,
consensus, deciles, label, true mask) and Figure 3-style segmentations with a class legend.
"""
import colorsys
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
import numpy as np  # noqa: E402

from paddleseg_pssl.analysis.label_quality import (METRICS, QualityResult,  # noqa: E402
                                                   image_scores)
from paddleseg_pssl.constants import DECILE_COUNT, TOP_DECILE, UINT8_MAX  # noqa: E402

SCORE_CMAP = "inferno"
DECILE_CMAP = ListedColormap(plt.get_cmap("viridis")(np.linspace(0, 1, DECILE_COUNT)))
LABEL_COLOUR = np.array([230, 57, 70], dtype=np.float32)
MASK_COLOUR = np.array([42, 157, 143], dtype=np.float32)
#: Grey of the pixels a mask leaves unannotated.
IGNORED_GREY = 128
BACKGROUND_DIM = 0.35
OVERLAY_ALPHA = 0.55


def _save(fig, path: str, dpi: int = 120, **layout) -> str:
    fig.tight_layout(**layout)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def plot_threshold_curves(results: Sequence[QualityResult], path: str,
                          average: str = "micro", title: Optional[str] = None) -> str:
    """Precision, recall and IoU against the number of top deciles kept, one line per source
    (the first boldest), ``average`` 'micro' (summed counts) or 'mean' (per image); returns
    ``path``, the PNG written."""
    if average not in ("micro", "mean"):
        raise ValueError(f"average must be 'micro' or 'mean', got {average!r}")
    top_k = np.arange(1, DECILE_COUNT + 1)
    thresholds = DECILE_COUNT - top_k
    fig, axes = plt.subplots(1, len(METRICS), figsize=(4.2 * len(METRICS), 3.6), sharex=True)
    for i, res in enumerate(results):
        table = res.micro if average == "micro" else res.mean
        style = dict(marker="o", markersize=3)
        if res.name.startswith("centred prior"):
            style.update(linestyle="--", color="grey")
        elif i == 0:
            style.update(linewidth=2.5, color="black")
        else:
            style.update(linewidth=1.0, alpha=0.8)
        for ax, metric in zip(axes, METRICS):
            ax.plot(top_k, table[metric][thresholds], label=res.name, **style)
    for ax, metric in zip(axes, METRICS):
        ax.set_title(metric if metric != "iou" else "IoU")
        ax.set_xlabel("top k deciles as object (1 = D9)")
        ax.set_xticks(top_k)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[-1].legend(fontsize=7, loc="best")
    fig.suptitle(title or f"PSSL label quality against masks ({average})", fontsize=10)
    return _save(fig, path)


@dataclass
class PanelSet:
    """Everything drawn for one image in a Figure 2-style row, all HxW at label resolution:
    the uint8 RGB image, decile map (Eq. 2), (name, map in [0, 1]) per kept model, the float
    consensus (Eq. 1) when kept, the true mask as (object, annotated) boolean maps, or None."""
    title: str
    image: np.ndarray
    deciles: np.ndarray
    class_name: str
    model_maps: List[Tuple[str, np.ndarray]] = field(default_factory=list)
    consensus: Optional[np.ndarray] = None
    mask: Optional[Tuple[np.ndarray, np.ndarray]] = None

    def n_panels(self) -> int:
        return 4 + len(self.model_maps) + (self.mask is not None)


def tint(image: np.ndarray, where: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """``image`` with the pixels ``where`` tinted by ``colour`` and the rest dimmed (uint8)."""
    img = np.asarray(image, dtype=np.float32)
    out = img * BACKGROUND_DIM
    out[where] = img[where] * (1 - OVERLAY_ALPHA) + colour * OVERLAY_ALPHA
    return np.clip(out, 0, UINT8_MAX).astype(np.uint8)


def label_overlay(image: np.ndarray, deciles: np.ndarray) -> np.ndarray:
    """The PSSL label drawn on the image: class pixels (D9) tinted, the rest dimmed (uint8)."""
    return tint(image, np.asarray(deciles) == TOP_DECILE, LABEL_COLOUR)


def mask_overlay(image: np.ndarray, mask: Tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The true mask drawn on the image: object tinted, unannotated pixels grey (uint8)."""
    foreground, valid = mask
    out = tint(image, foreground & valid, MASK_COLOUR)
    out[~valid] = IGNORED_GREY
    return out


def mask_title(panel: PanelSet) -> str:
    """The mask panel's title: the label's D9 precision and IoU against the mask."""
    scores = image_scores(panel.deciles, *panel.mask)
    return f"true mask (D9 prec {scores['precision']:.2f}, IoU {scores['iou']:.2f})"


def _draw_row(axes, panel: PanelSet) -> None:
    items = [("image", panel.image, None)]
    items += [(name, m, SCORE_CMAP) for name, m in panel.model_maps]
    if panel.consensus is not None:
        items.append(("consensus (Eq. 1)", panel.consensus, SCORE_CMAP))
    else:
        items.append(("consensus (deciles; float not kept)", panel.deciles, DECILE_CMAP))
    items.append(("deciles (Eq. 2)", panel.deciles, DECILE_CMAP))
    items.append((f"label: D9 = {panel.class_name}", label_overlay(panel.image, panel.deciles),
                  None))
    if panel.mask is not None:
        items.append((mask_title(panel), mask_overlay(panel.image, panel.mask), None))
    norm = BoundaryNorm(np.arange(-0.5, DECILE_COUNT), DECILE_COUNT)
    for ax, (name, arr, cmap) in zip(axes, items):
        if cmap is None:
            ax.imshow(arr)
        elif cmap is DECILE_CMAP:
            ax.imshow(arr, cmap=cmap, norm=norm, interpolation="nearest")
        else:
            ax.imshow(arr, cmap=cmap, vmin=0.0, vmax=float(max(1e-6, np.max(arr))))
        ax.set_title(name, fontsize=7)
        ax.set(xticks=[], yticks=[])
    axes[0].set_ylabel(panel.title, fontsize=6)


def save_panels(panel: PanelSet, path: str) -> str:
    """One Figure 2-style row for one image, saved as a PNG at ``path``."""
    n = panel.n_panels()
    fig, axes = plt.subplots(1, n, figsize=(2.0 * n, 2.4), squeeze=False)
    _draw_row(axes[0], panel)
    return _save(fig, path)


def save_panel_grid(panels: Sequence[PanelSet], path: str) -> str:
    """All rows in one figure (every row must have the same number of panels)."""
    if not panels:
        raise ValueError("save_panel_grid needs at least one panel row")
    n = max(p.n_panels() for p in panels)
    fig, axes = plt.subplots(len(panels), n, figsize=(2.0 * n, 2.1 * len(panels) + 0.3),
                             squeeze=False)
    for r, panel in enumerate(panels):
        _draw_row(axes[r], panel)
        for ax in axes[r][panel.n_panels():]:
            ax.axis("off")
    return _save(fig, path, dpi=110)


def class_palette(num_classes: int, background_index: Optional[int] = None,
                  seed_hue: float = 0.0) -> np.ndarray:
    """A deterministic ``num_classes`` x 3 uint8 palette of distinct hues; background black.

    Hues advance by the golden ratio so neighbouring class ids differ strongly, with three
    alternating saturation/value levels, for any number of classes (1001 for ImageNet).
    """
    golden = 0.618033988749895
    levels = ((0.85, 0.95), (0.55, 0.85), (1.0, 0.7))
    pal = np.zeros((num_classes, 3), dtype=np.uint8)
    for i in range(num_classes):
        s, v = levels[i % len(levels)]
        r, g, b = colorsys.hsv_to_rgb((seed_hue + i * golden) % 1.0, s, v)
        pal[i] = (int(r * UINT8_MAX), int(g * UINT8_MAX), int(b * UINT8_MAX))
    if background_index is not None:
        pal[background_index] = (0, 0, 0)
    return pal


def save_prediction_figure(image: np.ndarray, pred: np.ndarray, palette: np.ndarray,
                           legend: Sequence[Tuple[int, str, float]], path: str,
                           title: str = "") -> str:
    """Image | colour map | overlay, with a legend of ``(class id, name, pixel share)``."""
    colours = palette[np.asarray(pred, dtype=np.int64)]
    overlay = (np.asarray(image, np.float32) * (1 - OVERLAY_ALPHA)
               + colours.astype(np.float32) * OVERLAY_ALPHA).astype(np.uint8)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
    for ax, arr, name in zip(axes, (image, colours, overlay), ("image", "segmentation",
                                                               "overlay")):
        ax.imshow(arr, interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set(xticks=[], yticks=[])
    handles = [Patch(facecolor=palette[cid] / float(UINT8_MAX), edgecolor="grey",
                     label=f"{name} ({share * 100:.1f}%)") for cid, name, share in legend]
    fig.legend(handles=handles, loc="center right", fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=9)
    return _save(fig, path, rect=(0, 0, 0.8, 1))
