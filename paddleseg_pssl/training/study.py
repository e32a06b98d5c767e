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


def _curves(rows: Sequence[StudyRow], total: int, batch_size: int
            ) -> Dict[str, Dict[str, List[Tuple[float, StudyRow]]]]:
    """Lines of the two panels, by label: ``size`` lines vary the images at fixed iterations
    or fixed epochs, ``length`` lines vary the iterations at a fixed share; (x, row) points,
    lines of one point left out."""
    panels: Dict[str, Dict[str, List[Tuple[float, StudyRow]]]] = {"size": {}, "length": {}}
    for row in rows:
        p = row.point
        epochs = round(p.epochs(total, batch_size))
        for panel, label, x in (
                ("size", f"{p.labels} labels, {p.iters} iterations", p.images(total)),
                ("size", f"{p.labels} labels, {epochs} epochs", p.images(total)),
                ("length", f"{p.labels} labels, {p.fraction:.0%} of the images", p.iters)):
            panels[panel].setdefault(label, []).append((x, row))
    return {panel: {label: sorted(line, key=lambda point: point[0])
                    for label, line in lines.items() if len(line) > 1}
            for panel, lines in panels.items()}


def plot(rows: Sequence[StudyRow], baseline: InitSummary, total: int, batch_size: int,
         path: str) -> str:
    """mIoU against pre-training images (lines at fixed iterations or fixed epochs) and
    against pre-training iterations (lines at a fixed share of the images), seed std as error
    bars, the conventional init as a band; written to ``path`` (PNG)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = _curves(rows, total, batch_size)
    axis_names = {"size": "pre-training images", "length": "pre-training iterations"}
    fig, axes = plt.subplots(1, len(axis_names), figsize=(11, 4.2), squeeze=False)
    for ax, (panel, xlabel) in zip(axes[0], axis_names.items()):
        low = 100.0 * (baseline.miou_mean - baseline.miou_std)
        high = 100.0 * (baseline.miou_mean + baseline.miou_std)
        ax.axhspan(low, high, color="0.85", label="conventional init (mean +- std)")
        ax.axhline(100.0 * baseline.miou_mean, color="0.4", lw=1)
        for label, line in curves[panel].items():
            ax.errorbar([x for x, _ in line], [100.0 * r.result.miou_mean for _, r in line],
                        yerr=[100.0 * r.result.miou_std for _, r in line], marker="o",
                        capsize=3, label=f"PSSL init, {label}")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("fine-tuned val mIoU (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
