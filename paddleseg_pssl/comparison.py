"""Conventional vs PSSL initialisation, side by side (the paper's Table 3, arXiv 2207.03335).

Pure bookkeeping, no training: which config overrides make each initialisation, and how
per-seed mIoU results become a table (markdown and CSV). ``tools/compare_init.py`` runs
the fine-tunes and calls these.
"""
import csv
import io
import statistics
from dataclasses import asdict, dataclass
from typing import Dict, Iterable, List, Optional, Sequence

#: Initialisations a comparison can run, in table order.
INIT_RANDOM = "random"
INIT_BACKBONE = "backbone"
INIT_PSSL = "pssl"
KNOWN_INITS = (INIT_RANDOM, INIT_BACKBONE, INIT_PSSL)
INIT_DESCRIPTIONS = {
    INIT_RANDOM: "random init (no pre-training)",
    INIT_BACKBONE: "classification-pretrained backbone (e.g. ImageNet), random head: "
                   "the conventional init",
    INIT_PSSL: "PSSL pre-trained backbone + head",
}


def init_overrides(init: str, pssl_checkpoint: Optional[str] = None,
                   backbone_pretrained: Optional[str] = None) -> List[str]:
    """``--opts`` items that turn a fine-tuning config into initialisation ``init``.

    ``backbone`` (the conventional init) keeps the config's backbone weights unless ``backbone_pretrained`` replaces
    them; ``pssl`` loads a whole PSSL checkpoint (its pre-training output layer is skipped by
    shape) and no separate backbone weights; ``random`` loads nothing.
    """
    if init not in KNOWN_INITS:
        raise ValueError(f"unknown init {init!r}; expected one of {KNOWN_INITS}")
    if init == INIT_RANDOM:
        return ["model.pretrained=None", "model.backbone.pretrained=None"]
    if init == INIT_BACKBONE:
        overrides = ["model.pretrained=None"]
        if backbone_pretrained:
            overrides.append(f"model.backbone.pretrained={backbone_pretrained}")
        return overrides
    if not pssl_checkpoint:
        raise ValueError("init 'pssl' needs a PSSL checkpoint (--pssl_checkpoint "
                         "<pre-training save_dir>/iter_N/model.pdparams)")
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


@dataclass
class InitSummary:
    """Mean and spread of one initialisation over seeds."""
    init: str
    runs: int
    miou_mean: float
    miou_std: float
    miou_per_seed: List[float]


def summarise(results: Iterable[RunResult], inits: Sequence[str]) -> List[InitSummary]:
    """Per-init mean and sample standard deviation (0 for a single seed) of mIoU."""
    by_init: Dict[str, List[RunResult]] = {init: [] for init in inits}
    for result in results:
        by_init.setdefault(result.init, []).append(result)
    summaries = []
    for init in inits:
        runs = sorted(by_init.get(init, []), key=lambda r: r.seed)
        mious = [r.miou for r in runs]
        if not mious:
            continue
        summaries.append(InitSummary(
            init=init, runs=len(mious), miou_mean=statistics.fmean(mious),
            miou_std=statistics.stdev(mious) if len(mious) > 1 else 0.0,
            miou_per_seed=mious))
    return summaries


def _percent(value: float) -> str:
    return f"{100.0 * value:.1f}"


def markdown_table(summaries: Sequence[InitSummary], title: str) -> str:
    """Table-3-style markdown: mIoU (%) mean +- std per init, and the gain over the first row."""
    lines = [f"**{title}** (mIoU %, mean +- std over seeds)", "",
             "| init | what is pre-trained | runs | mIoU | per seed | vs first row |",
             "|---|---|---|---|---|---|"]
    baseline = summaries[0].miou_mean if summaries else 0.0
    for index, summary in enumerate(summaries):
        gain = "" if index == 0 else f"{100.0 * (summary.miou_mean - baseline):+.1f}"
        per_seed = ", ".join(_percent(v) for v in summary.miou_per_seed)
        lines.append(
            f"| {summary.init} | {INIT_DESCRIPTIONS.get(summary.init, '')} | {summary.runs} | "
            f"{_percent(summary.miou_mean)} +- {_percent(summary.miou_std)} | {per_seed} | {gain} |")
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
