"""Conventional vs PSSL initialisation, side by side (the paper's Table 3, arXiv 2207.03335).

Bookkeeping only: each initialisation's config overrides, its learning rate (searched per init
on validation mIoU, as Section 5.4 and Appendix B do) and the tables; ``tools/compare_init.py``
runs the fine-tunes.
"""
import csv
import io
import statistics
from dataclasses import asdict, dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple


#: Initialisations a comparison can run, in table order.
INIT_RANDOM = "random"
INIT_BACKBONE = "backbone"
INIT_PSSL = "pssl"
INIT_PSSL_BACKBONE = "pssl_backbone"
KNOWN_INITS = (INIT_RANDOM, INIT_BACKBONE, INIT_PSSL_BACKBONE, INIT_PSSL)
INIT_DESCRIPTIONS = {
    INIT_RANDOM: "random init (no pre-training)",
    INIT_BACKBONE: "classification-pretrained backbone (e.g. ImageNet), random head: "
                   "the conventional init",
    INIT_PSSL_BACKBONE: "PSSL pre-trained backbone only, random head (analysis)",
    INIT_PSSL: "PSSL pre-trained backbone + head",
}


def init_overrides(init: str, pssl_checkpoint: Optional[str] = None,
                   backbone_pretrained: Optional[str] = None,
                   pssl_backbone: Optional[str] = None) -> List[str]:
    """``opts`` items that turn a fine-tuning config into initialisation ``init``.

    ``backbone`` keeps the config's backbone weights unless ``backbone_pretrained`` replaces
    them; ``pssl`` loads a whole PSSL checkpoint (not its output layer); ``pssl_backbone`` loads
    the backbone file ``checkpoints.write_backbone_weights`` wrote; ``random`` loads nothing.
    """
    if init not in KNOWN_INITS:
        raise ValueError(f"unknown init {init!r}; expected one of {KNOWN_INITS}")
    if init == INIT_RANDOM:
        return ["model.pretrained=None", "model.backbone.pretrained=None"]
    if init == INIT_PSSL_BACKBONE:
        if not pssl_backbone:
            raise ValueError("init 'pssl_backbone' needs pssl_backbone, the backbone weights "
                             "of a PSSL checkpoint (checkpoints.write_backbone_weights)")
        return ["model.pretrained=None", f"model.backbone.pretrained={pssl_backbone}"]
    if init == INIT_BACKBONE:
        overrides = ["model.pretrained=None"]
        if backbone_pretrained:
            overrides.append(f"model.backbone.pretrained={backbone_pretrained}")
        return overrides
    if not pssl_checkpoint:
        raise ValueError("init 'pssl' needs pssl_checkpoint, a PSSL checkpoint "
                         "(<pre-training save_dir>/iter_N/model.pdparams)")
    return [f"model.pretrained={pssl_checkpoint}", "model.backbone.pretrained=None"]


@dataclass
class RunResult:
    """One fine-tuning run's outcome."""
    init: str
    seed: int
    miou: float
    accuracy: float
    iters: int
    seconds: float
    learning_rate: Optional[float] = None
    total_batch: Optional[int] = None


@dataclass
class InitSummary:
    """Mean and spread of one initialisation (at one learning rate) over seeds."""
    init: str
    runs: int
    miou_mean: float
    miou_std: float
    miou_per_seed: List[float]
    learning_rate: Optional[float] = None


def _summary(init: str, runs: Sequence[RunResult],
             learning_rate: Optional[float]) -> InitSummary:
    mious = [r.miou for r in sorted(runs, key=lambda r: r.seed)]
    return InitSummary(init=init, runs=len(mious), miou_mean=statistics.fmean(mious),
                       miou_std=statistics.stdev(mious) if len(mious) > 1 else 0.0,
                       miou_per_seed=mious, learning_rate=learning_rate)


def summarise(results: Iterable[RunResult], inits: Sequence[str]) -> List[InitSummary]:
    """Per-init mean and sample standard deviation (0 for a single seed) of mIoU."""
    by_init: Dict[str, List[RunResult]] = {init: [] for init in inits}
    for result in results:
        by_init.setdefault(result.init, []).append(result)
    return [_summary(init, by_init[init], None) for init in inits if by_init.get(init)]


def grid(results: Iterable[RunResult], inits: Sequence[str],
         learning_rates: Sequence[float]) -> Dict[Tuple[str, float], InitSummary]:
    """(init, learning rate) -> mIoU over seeds, for every cell that has runs."""
    cells: Dict[Tuple[str, float], List[RunResult]] = {}
    for result in results:
        cells.setdefault((result.init, result.learning_rate), []).append(result)
    return {(init, lr): _summary(init, cells[(init, lr)], lr)
            for init in inits for lr in learning_rates if cells.get((init, lr))}


def choose_rates(cells: Dict[Tuple[str, float], InitSummary], inits: Sequence[str],
                 learning_rates: Sequence[float]) -> List[InitSummary]:
    """Per init, the learning rate with the best mean validation mIoU (first in
    ``learning_rates`` on a tie): each initialisation gets its own rate, as in the paper."""
    chosen = []
    for init in inits:
        candidates = [cells[(init, lr)] for lr in learning_rates if (init, lr) in cells]
        if candidates:
            chosen.append(max(candidates, key=lambda c: c.miou_mean))
    return chosen


def rate_at_grid_edge(summary: InitSummary, learning_rates: Sequence[float]) -> bool:
    """Whether the chosen rate is the largest or smallest tried (no peak found: extend)."""
    return len(learning_rates) > 1 and summary.learning_rate in (max(learning_rates),
                                                                 min(learning_rates))


def _percent(value: float) -> str:
    return f"{100.0 * value:.1f}"


def mean_std(summary: InitSummary) -> str:
    """mIoU mean +- std in percent."""
    return f"{_percent(summary.miou_mean)} +- {_percent(summary.miou_std)}"


def per_seed(summary: InitSummary) -> str:
    """mIoU of each seed in percent, comma-separated."""
    return ", ".join(_percent(v) for v in summary.miou_per_seed)


def verdict(summaries: Sequence[InitSummary]) -> Optional[str]:
    """One line on PSSL init against the conventional init: the gain in mIoU points and whether
    it beats both inits' seed std. None unless both inits are in ``summaries``."""
    by_init = {s.init: s for s in summaries}
    if INIT_PSSL not in by_init or INIT_BACKBONE not in by_init:
        return None
    pssl, backbone = by_init[INIT_PSSL], by_init[INIT_BACKBONE]
    gain = 100.0 * (pssl.miou_mean - backbone.miou_mean)
    spread = 100.0 * max(pssl.miou_std, backbone.miou_std)
    if abs(gain) <= spread:
        judged = "within the seed spread: no difference shown"
    else:
        judged = "PSSL init wins" if gain > 0 else "PSSL init loses"
        judged += ", beyond the seed spread"
    return (f"PSSL init vs the conventional init: {gain:+.1f} mIoU points; seed spread "
            f"(larger std) {spread:.1f}: {judged}.")


def markdown_table(summaries: Sequence[InitSummary], title: str) -> str:
    """Table-3-style markdown: mIoU (%) per init (and its chosen learning rate when searched),
    the gain over the first row, and the :func:`verdict`."""
    with_rates = any(s.learning_rate is not None for s in summaries)
    note = "; learning rate chosen per init on the validation split" if with_rates else ""
    rate_head, rate_rule = ("lr | ", "---|") if with_rates else ("", "")
    lines = [f"**{title}** (mIoU %, mean +- std over seeds{note})", "",
             f"| init | what is pre-trained | {rate_head}runs | mIoU | per seed | vs first row |",
             f"|---|---|{rate_rule}---|---|---|---|"]
    baseline = summaries[0].miou_mean if summaries else 0.0
    for index, summary in enumerate(summaries):
        gain = "" if index == 0 else f"{100.0 * (summary.miou_mean - baseline):+.1f}"
        rate = f"{summary.learning_rate:g} | " if with_rates else ""
        lines.append(
            f"| {summary.init} | {INIT_DESCRIPTIONS.get(summary.init, '')} | {rate}"
            f"{summary.runs} | {mean_std(summary)} | {per_seed(summary)} | {gain} |")
    judged = verdict(summaries)
    if judged:
        lines += ["", judged]
    return "\n".join(lines) + "\n"


def markdown_grid(cells: Dict[Tuple[str, float], InitSummary], inits: Sequence[str],
                  learning_rates: Sequence[float]) -> str:
    """The whole learning-rate search: mIoU (%) per init and rate, the chosen rate in bold, and
    a warning for a rate chosen at the edge of the grid."""
    chosen = {s.init: s.learning_rate for s in choose_rates(cells, inits, learning_rates)}
    lines = ["Learning-rate search (validation mIoU %, mean +- std over seeds; bold: chosen)", "",
             "| init | " + " | ".join(f"lr {lr:g}" for lr in learning_rates) + " |",
             "|---|" + "---|" * len(learning_rates)]
    for init in inits:
        row = []
        for lr in learning_rates:
            cell = cells.get((init, lr))
            text = "" if cell is None else f"{mean_std(cell)} ({cell.runs})"
            row.append(f"**{text}**" if cell is not None and chosen.get(init) == lr else text)
        lines.append(f"| {init} | " + " | ".join(row) + " |")
    edges = [init for init in inits if init in chosen and rate_at_grid_edge(
        cells[(init, chosen[init])], learning_rates)]
    if edges:
        lines += ["", f"Best rate at the edge of the grid for {', '.join(edges)}: no peak found; "
                      "extend learning_rates past it (the paper searches until a clear peak)."]
    return "\n".join(lines) + "\n"


def csv_table(results: Sequence[RunResult]) -> str:
    """Every run, one CSV row each."""
    buffer = io.StringIO()
    fields = list(RunResult.__dataclass_fields__)
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    for result in results:
        writer.writerow(asdict(result))
    return buffer.getvalue()
