"""Markdown tables of label-quality scores (benchmarks/label_quality_real.py).

A row is one source (a variant's consensus, a single model, the centred prior) with its D9
precision, D9 IoU, D>=8 IoU (micro-averaged over pixels) and seconds per image.
"""
import math
from typing import Dict, Mapping, Sequence

from paddleseg_pssl.analysis.label_quality import QualityResult


def score_row(name: str, result: QualityResult, seconds: float = float("nan")) -> Dict:
    """One table row: the top-decile scores of ``result`` under ``name``."""
    return {"source": name, "images": result.n_images,
            "d9_precision": result.at_top_k(1, "precision"), "d9_iou": result.at_top_k(1),
            "d8_iou": result.at_top_k(2), "seconds_per_image": seconds}


def markdown_table(rows: Sequence[Mapping]) -> str:
    """Rows of :func:`score_row` as a markdown table (blank seconds where not measured)."""
    lines = ["| source | images | D9 precision | D9 IoU | D>=8 IoU | s / image |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        sec = "" if math.isnan(r["seconds_per_image"]) else f"{r['seconds_per_image']:.1f}"
        lines.append(f"| {r['source']} | {r['images']} | {r['d9_precision']:.3f} | "
                     f"{r['d9_iou']:.3f} | {r['d8_iou']:.3f} | {sec} |")
    return "\n".join(lines)


def category_table(per_category: Mapping[str, Mapping[str, QualityResult]]) -> str:
    """Sources (columns) x categories (rows), each cell "D9 precision / D>=8 IoU"."""
    sources = list(per_category)
    categories = sorted(next(iter(per_category.values())))
    lines = ["| category | images | " + " | ".join(sources) + " |",
             "|---|---|" + "---|" * len(sources)]
    for c in categories:
        cells = [f"{per_category[s][c].at_top_k(1, 'precision'):.2f} / "
                 f"{per_category[s][c].at_top_k(2):.2f}" for s in sources]
        lines.append(f"| {c} | {per_category[sources[0]][c].n_images} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)
