"""Markdown tables of ``label_quality_real.py``: the study's factor and single-model rows, and
the holdout report (``holdout.md``)."""
from __future__ import annotations

import os
from typing import Dict, List, Tuple

from real_photo_runs import MODELS


def factor_table(factors, prior) -> List[str]:
    """Markdown lines: each factor varied alone (the default in bold), then the centred prior."""
    lines = ["| factor | value | D9 precision | D9 IoU | D>=8 IoU | s / image |",
             "|---|---|---|---|---|---|"]
    for factor, value, sc, is_default in factors:
        mark = "**" if is_default else ""
        c = sc.consensus
        lines.append(f"| {factor} | {mark}{value}{mark} | {c.at_top_k(1, 'precision'):.3f}"
                     f" | {c.at_top_k(1):.3f} | {c.at_top_k(2):.3f} | "
                     f"{sc.seconds_per_image:.1f} |")
    lines.append(f"| centred prior | | {prior.at_top_k(1, 'precision'):.3f} | "
                 f"{prior.at_top_k(1):.3f} | {prior.at_top_k(2):.3f} | |")
    return lines


def single_model_rows(scores) -> List[Dict[str, object]]:
    """Per variant with single-model scores: the consensus against the best and worst model."""
    rows = []
    for s in scores:
        if not s.singles:
            continue
        precisions = [r.at_top_k(1, "precision") for r in s.singles.values()]
        iou8 = [r.at_top_k(2) for r in s.singles.values()]
        rows.append({"variant": s.variant.name,
                     "best_single_d9_precision": max(precisions),
                     "worst_single_d9_precision": min(precisions),
                     "best_single_d8_iou": max(iou8),
                     "consensus_d9_precision": s.consensus.at_top_k(1, "precision"),
                     "consensus_d8_iou": s.consensus.at_top_k(2)})
    return rows


def _metrics(source: Dict) -> Tuple[float, float, float]:
    top = source["by_top_k"]
    return top["1"]["micro_precision"], top["1"]["micro_iou"], top["2"]["micro_iou"]


def write_holdout_report(work: str, summaries: Dict[str, Dict], name: str = "holdout") -> None:
    lines = [f"# PSSL label quality on real photos: {name} (tools/generate_pssl.py + "
             "tools/evaluate_pssl.py)", "",
             "| settings | source | images | D9 precision | D9 IoU | D>=8 IoU | s / image | "
             "D9 precision vs reference [95 %] | D>=8 IoU vs reference [95 %] |",
             "|---|---|---|---|---|---|---|---|---|"]
    prior = None
    for label, summary in summaries.items():
        sources = summary["sources"]
        ranks = summary["run"]["ranks"].values()
        labelled = sum(r.get("labelled", 0) for r in ranks)
        seconds = (sum(r.get("seconds", 0.0) for r in ranks) / labelled if labelled
                   else float("nan"))
        cons = _metrics(sources["consensus"])
        shown = "" if seconds != seconds else f"{seconds:.1f}"   # NaN: every label reused
        versus = summary.get("versus_reference", {})
        lines.append(f"| {label} | consensus of {len(MODELS)} | {summary['scored']} | "
                     + " | ".join(f"{x:.3f}" for x in cons) + f" | {shown} | "
                     f"{versus.get('d9_precision', '')} | {versus.get('d8_iou', '')} |")
        singles = [_metrics(v) for k, v in sources.items() if k not in ("consensus",
                                                                         "centred prior")]
        lo = [min(s[i] for s in singles) for i in range(3)]
        hi = [max(s[i] for s in singles) for i in range(3)]
        lines.append(f"| {label} | single models | {summary['scored']} | "
                     + " | ".join(f"{a:.3f} - {b:.3f}" for a, b in zip(lo, hi)) + " | | | |")
        prior = _metrics(sources["centred prior"])
    lines.append("| | centred prior | | " + " | ".join(f"{x:.3f}" for x in prior) + " | | | |")
    reference = next(iter(summaries))
    lines += ["", "s / image: process-seconds per image labelled by this run (all five models; "
                  "two 1-thread processes side by side; blank when the run only resumed).",
              f"vs reference: the difference from '{reference}' on the same photos, and its "
              "95 % interval over photo resamples (photo_bootstrap.py)."]
    lines += ["", "## Where a run's time goes (ms per image, mean over the ranks; the generator's "
              "own profile, manifest run.ranks)", ""] + stage_table(summaries)
    with open(os.path.join(work, f"{name}.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def stage_table(summaries: Dict[str, Dict]) -> List[str]:
    """Markdown lines: per setting, each stage's ms per image and the chunk-size measurement."""
    stages = None
    lines = []
    for label, summary in summaries.items():
        ranks = [r for r in summary["run"]["ranks"].values() if r.get("labelled")]
        if not ranks:
            continue
        stages = stages or list(ranks[0]["stages"])
        ms = [sum(r["stages"][st]["ms_per_image"] for r in ranks) / len(ranks) for st in stages]
        tuning = sum(c.get("tuning_s", 0.0) for r in ranks for c in r.get("chunk_sizes", []))
        lines.append(f"| {label} | " + " | ".join(f"{x:.0f}" for x in ms)
                     + f" | {tuning / len(ranks):.1f} |")
    if stages is None:
        return ["(every run only resumed)"]
    return ([f"| settings | {' | '.join(stages)} | chunk tuning, s per rank |",
             "|---" * (len(stages) + 2) + "|"] + lines)
