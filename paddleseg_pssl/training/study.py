"""The paper's Tables 1 and 2 in miniature: fine-tuned mIoU against the PSSL pre-training's
size, length, label source and label rule (arXiv 2207.03335). Bookkeeping and the plot only;
``tools/pssl_study.py`` runs the points.
"""
import math
import re
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from paddleseg_pssl.constants import TOP_DECILE  # noqa: E402
from paddleseg_pssl.training.comparison import InitSummary, mean_std, per_seed  # noqa: E402

#: Label sources a point can pre-train on.
LABELS_PSSL = "pssl"
LABELS_ORACLE = "oracle"
LABEL_SOURCES = (LABELS_PSSL, LABELS_ORACLE)

#: The configs' label rule (D9 foreground, the rest background, background weight 0.1).
RULE_PAPER = "paper"
#: Background weights of the paper's Table 1 besides its chosen 0.1.
TABLE1_BACKGROUND_WEIGHTS = {"bg0.001": 0.001, "bg0.01": 0.01, "bg1": 1.0}


def _background_weight(weight: float) -> Tuple[str, ...]:
    return (f"loss.types=[{{'type': 'WeightedCrossEntropyLoss', "
            f"'background_weight': {weight}}}]",)


#: Label rules of the paper's Table 1 and Section 4 ablations, as pre-training overrides.
RULES: Dict[str, Tuple[str, ...]] = {
    RULE_PAPER: (),
    **{name: _background_weight(w) for name, w in TABLE1_BACKGROUND_WEIGHTS.items()},
    # D8 pixels skipped by the loss instead of taken as background.
    "d8_ignored": (f"train_dataset.ignore_deciles=[{TOP_DECILE - 1}]",),
    # Only D9 labelled, no background: the paper reports a collapse into a classifier.
    "below_d9_ignored": (f"train_dataset.ignore_deciles={list(range(TOP_DECILE))}",),
}
_NAME = re.compile(r"(?P<labels>[a-z]+)_f(?P<fraction>[0-9.e-]+)_i(?P<iters>[0-9]+)"
                   r"(?:_r(?P<rule>.+))?")


@dataclass(frozen=True)
class PretrainPoint:
    """One pre-training: label source, share of every class's images, iterations, label rule
    (a key of RULES)."""
    labels: str
    fraction: float
    iters: int
    rule: str = RULE_PAPER

    @property
    def name(self) -> str:
        """Folder name of its pre-training and fine-tunes."""
        rule = "" if self.rule == RULE_PAPER else f"_r{self.rule}"
        return f"{self.labels}_f{self.fraction:g}_i{self.iters}{rule}"

    @classmethod
    def from_name(cls, name: str) -> "PretrainPoint":
        """The point whose folder is called ``name``."""
        match = _NAME.fullmatch(name)
        if match is None:
            raise ValueError(f"{name!r} is not a study point's folder name")
        return cls(match["labels"], float(match["fraction"]), int(match["iters"]),
                   match["rule"] or RULE_PAPER)

    @property
    def source(self) -> str:
        """Label source and, when not the configs', label rule, as the table names them."""
        rule = "" if self.rule == RULE_PAPER else f", {self.rule}"
        return f"{self.labels} labels{rule}"

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


def markdown(rows: Sequence[StudyRow], baseline: InitSummary, total: int,
             batch_size: int) -> str:
    """The table: one row per point, its chosen learning rate, mIoU mean +- std over seeds and
    the gain over the conventional init."""
    header = "| pre-trained on | images | iters | epochs | lr | mIoU | per seed | vs conventional |"
    lines = [header, "|---|---|---|---|---|---|---|---|",
             f"| nothing: conventional init | - | - | - | {baseline.learning_rate:g} | "
             f"{mean_std(baseline)} | {per_seed(baseline)} | |"]
    for row in sorted(rows, key=lambda r: (r.point.rule != RULE_PAPER, r.point.labels,
                                           r.point.rule, r.point.iters, r.point.fraction)):
        p, r = row.point, row.result
        gain = 100.0 * (r.miou_mean - baseline.miou_mean)
        lines.append(f"| {p.source} | {p.images(total)} | {p.iters} | "
                     f"{p.epochs(total, batch_size):.1f} | {r.learning_rate:g} | "
                     f"{mean_std(r)} | {per_seed(r)} | {gain:+.1f} |")
    return "\n".join(lines) + "\n"


def _curves(rows: Sequence[StudyRow], total: int, batch_size: int
            ) -> Dict[str, Dict[str, List[Tuple[float, StudyRow]]]]:
    """Lines of the two panels, by label, as (x, row) points: ``size`` varies the images at fixed
    iterations or epochs, ``length`` the iterations at a fixed share; one-point lines left out."""
    panels: Dict[str, Dict[str, List[Tuple[float, StudyRow]]]] = {"size": {}, "length": {}}
    for row in rows:
        p = row.point
        epochs = round(p.epochs(total, batch_size))
        for panel, label, x in (
                ("size", f"{p.source}, {p.iters} iterations", p.images(total)),
                ("size", f"{p.source}, {epochs} epochs", p.images(total)),
                ("length", f"{p.source}, {p.fraction:.0%} of the images", p.iters)):
            panels[panel].setdefault(label, []).append((x, row))
    return {panel: {label: sorted(line, key=lambda point: point[0])
                    for label, line in lines.items() if len(line) > 1}
            for panel, lines in panels.items()}


def plot(rows: Sequence[StudyRow], baseline: InitSummary, total: int, batch_size: int,
         path: str) -> str:
    """mIoU against pre-training images and against iterations (seed std as error bars, the
    conventional init as a band), written to ``path`` (PNG)."""
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
