"""The paper's Table 2 in miniature: fine-tuned mIoU against the PSSL pre-training's size,
length and label source (arXiv 2207.03335: PSSL init overtakes ImageNet init only past about
500K of ImageNet's 1.28M images).

Bookkeeping only: a pre-training point, how finished fine-tunes become table rows (each point
at its own best learning rate, as ``compare_init`` chooses) and the plot.
``tools/pssl_study.py`` runs the points.
"""
import math
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from paddleseg_pssl.training.comparison import InitSummary

#: Label sources a point can pre-train on.
LABELS_PSSL = "pssl"
LABELS_ORACLE = "oracle"
LABEL_SOURCES = (LABELS_PSSL, LABELS_ORACLE)


@dataclass(frozen=True)
class PretrainPoint:
    """One pre-training: label source, share of every class's images, iterations."""
    labels: str
    fraction: float
    iters: int

    @property
    def name(self) -> str:
        """Folder name of its pre-training and fine-tunes."""
        return f"{self.labels}_f{self.fraction:g}_i{self.iters}"

    def images(self, total: int) -> int:
        """Images it pre-trains on, of ``total`` labelled ones (``subsets``' rounding)."""
        return min(total, max(1, round(self.fraction * total)))

    def epochs(self, total: int, batch_size: int) -> float:
        """Passes over its images."""
        return self.iters * batch_size / self.images(total)


def iters_for_epochs(epochs: float, fraction: float, total: int, batch_size: int) -> int:
    """Iterations that make ``epochs`` passes over ``fraction`` of ``total`` images."""
    point = PretrainPoint(LABELS_PSSL, fraction, 1)
    return max(1, math.ceil(epochs * point.images(total) / batch_size))


@dataclass(frozen=True)
class StudyRow:
    """A finished point and its fine-tunes at their best learning rate."""
    point: PretrainPoint
    result: InitSummary


def _pct(value: float) -> str:
    return f"{100.0 * value:.1f}"


def markdown(rows: Sequence[StudyRow], baseline: InitSummary, total: int,
             batch_size: int) -> str:
    """The table: one row per point (label source, images, iterations, epochs), its chosen
    learning rate, mIoU mean +- std over seeds and the gain over the conventional init."""
    header = "| pre-trained on | images | iters | epochs | lr | mIoU | per seed | vs conventional |"
    lines = [header, "|---|---|---|---|---|---|---|---|",
             f"| nothing: conventional init | - | - | - | {baseline.learning_rate:g} | "
             f"{_pct(baseline.miou_mean)} +- {_pct(baseline.miou_std)} | "
             f"{', '.join(_pct(v) for v in baseline.miou_per_seed)} | |"]
    for row in sorted(rows, key=lambda r: (r.point.labels, r.point.iters, r.point.fraction)):
        p, r = row.point, row.result
        gain = 100.0 * (r.miou_mean - baseline.miou_mean)
        lines.append(f"| {p.labels} labels | {p.images(total)} | {p.iters} | "
                     f"{p.epochs(total, batch_size):.1f} | {r.learning_rate:g} | "
                     f"{_pct(r.miou_mean)} +- {_pct(r.miou_std)} | "
                     f"{', '.join(_pct(v) for v in r.miou_per_seed)} | {gain:+.1f} |")
    return "\n".join(lines) + "\n"


def _curves(rows: Sequence[StudyRow], vary: str) -> Dict[Tuple[str, int], List[StudyRow]]:
    """Rows grouped into lines that vary ``fraction`` (fixed labels and iterations) or
    ``iters`` (fixed labels and size); lines of one point are left out."""
    groups: Dict[Tuple, List[StudyRow]] = {}
    for row in rows:
        fixed = row.point.iters if vary == "fraction" else row.point.fraction
        groups.setdefault((row.point.labels, fixed), []).append(row)
    return {key: sorted(group, key=lambda r: getattr(r.point, vary))
            for key, group in groups.items() if len(group) > 1}


def plot(rows: Sequence[StudyRow], baseline: InitSummary, total: int, path: str) -> str:
    """mIoU against pre-training images (one line per label source and length) and against
    pre-training iterations (one line per label source and size), seed std as error bars, the
    conventional init as a band; written to ``path`` (PNG)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("fraction", "pre-training images", "iterations"),
              ("iters", "pre-training iterations", "of the images")]
    fig, axes = plt.subplots(1, len(panels), figsize=(11, 4.2), squeeze=False)
    for ax, (vary, xlabel, fixed_name) in zip(axes[0], panels):
        low = 100.0 * (baseline.miou_mean - baseline.miou_std)
        high = 100.0 * (baseline.miou_mean + baseline.miou_std)
        ax.axhspan(low, high, color="0.85", label="conventional init (mean +- std)")
        ax.axhline(100.0 * baseline.miou_mean, color="0.4", lw=1)
        for (labels, fixed), group in _curves(rows, vary).items():
            xs = [r.point.images(total) if vary == "fraction" else r.point.iters for r in group]
            fixed_text = f"{fixed} {fixed_name}" if vary == "fraction" \
                else f"{fixed:.0%} {fixed_name}"
            ax.errorbar(xs, [100.0 * r.result.miou_mean for r in group],
                        yerr=[100.0 * r.result.miou_std for r in group], marker="o",
                        capsize=3, label=f"PSSL init, {labels} labels, {fixed_text}")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("fine-tuned val mIoU (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
