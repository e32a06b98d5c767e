"""Score a PSSL folder against ground-truth masks (Li et al., arXiv 2207.03335).

Each sample of ``<pssl_root>/train.txt`` is scored at every decile threshold
(:mod:`.label_quality`) against its mask (:func:`.masks.mask_relpath_candidates`), resized with
nearest-neighbour to the label. Sources scored on the same images:

- ``consensus``: the decile labels themselves (what PSSL trains on);
- one per kept model (``model_maps/``, ``keep_model_maps``): that model's map alone, prepared
  as the generator did and binned with Eq. 2 -- the label its explanation alone would give;
- ``centred prior``: a centred Gaussian binned with Eq. 2 -- "the object is in the middle".

Samples without a mask are counted and listed, never fatal; a model's missing map only drops
that model for that image.
"""
import csv
import json
import os
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np

from paddleseg_pssl import pssl_format as fmt
from paddleseg_pssl.analysis import pssl_io
from paddleseg_pssl.analysis.figures import plot_threshold_curves
from paddleseg_pssl.analysis.label_quality import (
    DEFAULT_PRIOR_SIGMA_FRACTION, METRICS, QualityAccumulator, QualityResult,
    centred_prior_deciles, deciles, top_k_to_threshold)
from paddleseg_pssl.analysis.masks import (DEFAULT_MASK_EXTENSION, MaskSpec, find_mask,
                                           load_mask)
from paddleseg_pssl.errors import PSSLConfigError

CONSENSUS_SOURCE = "consensus"
PRIOR_SOURCE = "centred prior"
DEFAULT_TOP_KS = (1, 2, 3)

REPORT_BASENAME = "label_quality"


@dataclass
class EvaluationReport:
    """What :func:`evaluate_pssl_root` measured: ``results`` of the consensus, then each kept
    model, then the prior; ``n_samples`` listed (after ``limit``), ``n_evaluated`` with a mask;
    ``missing_maps``: model -> scored samples without its map; ``release_labels``: binary
    release labels (only D9 means anything)."""
    results: List[QualityResult]
    n_samples: int
    n_evaluated: int
    missing_masks: List[str]
    missing_maps: Dict[str, int]
    pssl_root: str
    mask_root: str
    mask_format: str
    release_labels: bool = False
    extra: Dict[str, object] = field(default_factory=dict)

    def result(self, name: str) -> QualityResult:
        for res in self.results:
            if res.name == name:
                return res
        raise KeyError(f"no source {name!r}; sources: {[r.name for r in self.results]}")


def evaluate_pssl_root(pssl_root: str, mask_root: str, spec: MaskSpec, *,
                       per_model: bool = False, mask_ext: str = DEFAULT_MASK_EXTENSION,
                       mask_suffix: str = "", limit: Optional[int] = None,
                       prior_sigma_fraction: float = DEFAULT_PRIOR_SIGMA_FRACTION,
                       progress: Optional[callable] = None) -> EvaluationReport:
    """Score every label of ``pssl_root`` with a mask under ``mask_root``.

    ``per_model``: also score each kept per-model map (an error when none were kept);
    ``limit``: only the first samples; ``progress``: a wrapper of an iterable (``tqdm.tqdm``).
    """
    pssl_io.require_dir(mask_root, "mask_root")
    samples = pssl_io.read_sample_list(pssl_root)
    if limit is not None:
        samples = samples[:limit]
    models = pssl_io.kept_model_names(pssl_root, samples) if per_model else []
    preparation = pssl_io.consensus_settings(pssl_root)
    if per_model and not models:
        maps_dir = os.path.join(pssl_root, fmt.MODEL_MAPS_DIR)
        raise PSSLConfigError(f"per-model scores requested but {maps_dir!r} holds no per-model "
                              "maps; generate with store.keep_model_maps: true, or drop "
                              "per_model", ["per_model"])
    consensus = QualityAccumulator(CONSENSUS_SOURCE)
    model_accs = {name: QualityAccumulator(name) for name in models}
    prior = QualityAccumulator(PRIOR_SOURCE)
    prior_cache: Dict[tuple, np.ndarray] = {}
    missing_masks: List[str] = []
    missing_maps = {name: 0 for name in models}
    release = False

    iterable: Iterable = samples if progress is None else progress(samples)
    for label_rel, image_rel in iterable:
        mask_path = find_mask(mask_root, image_rel, mask_ext, mask_suffix, fmt.LABEL_SPLIT_DIR)
        if mask_path is None:
            missing_masks.append(image_rel)
            continue
        release = release or fmt.is_release_label(label_rel)
        dec = _read_listed_label(pssl_root, label_rel)
        fg, valid = load_mask(mask_path, spec, fmt.class_name_of_label(label_rel), dec.shape)
        consensus.add(dec, fg, valid)
        if models:
            kept = pssl_io.load_model_maps(pssl_root, label_rel, dec.shape, **preparation) or {}
            for name, accumulator in model_accs.items():
                if name in kept:
                    accumulator.add(deciles(kept[name]), fg, valid)
                else:
                    missing_maps[name] += 1
        if dec.shape not in prior_cache:
            prior_cache[dec.shape] = centred_prior_deciles(dec.shape, prior_sigma_fraction)
        prior.add(prior_cache[dec.shape], fg, valid)

    results = [consensus.result()] + [model_accs[n].result() for n in models] + [prior.result()]
    return EvaluationReport(results=results, n_samples=len(samples),
                            n_evaluated=consensus.n_images, missing_masks=missing_masks,
                            missing_maps=missing_maps, pssl_root=str(pssl_root),
                            mask_root=str(mask_root), mask_format=spec.mask_format,
                            release_labels=release,
                            extra={"prior_sigma_fraction": prior_sigma_fraction})


def _read_listed_label(pssl_root: str, label_rel: str) -> np.ndarray:
    """The decile map of a train.txt entry; a listed label that is absent is an error."""
    label_path = fmt.join_relpath(pssl_root, label_rel)
    if not os.path.isfile(label_path):
        raise PSSLConfigError(f"label {label_path!r} is listed in train.txt but missing")
    return pssl_io.read_decile_label(label_path)


def _fmt(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.3f}"


def _top_label(k: int) -> str:
    return "D9" if k == 1 else f"D>={top_k_to_threshold(k)}"


def report_markdown(report: EvaluationReport, top_ks: Sequence[int] = DEFAULT_TOP_KS,
                    per_decile_sources: Optional[Sequence[str]] = None) -> str:
    """The report as markdown: a summary by source, then per-decile tables (of
    ``per_decile_sources``, default every source)."""
    lines = ["# PSSL label quality", "",
             f"- PSSL folder: `{report.pssl_root}`",
             f"- masks: `{report.mask_root}` ({report.mask_format})",
             f"- samples: {report.n_samples}, scored: {report.n_evaluated}, "
             f"without a mask: {len(report.missing_masks)}"]
    for name, n in report.missing_maps.items():
        if n:
            lines.append(f"- per-model maps missing for `{name}`: {n} scored samples")
    if report.release_labels:
        lines.append("- the labels are the binary release format: only the D9 rows mean "
                     "anything")
    lines += ["- micro = summed pixel counts over all images; mean = per-image average "
              "(images where a ratio is 0/0 left out)", ""]
    if report.n_evaluated == 0:
        lines += ["No sample had a mask: nothing was scored. Check mask_root, mask_ext and "
                  "mask_suffix.", ""]
        return "\n".join(lines)

    head = ["source", "images"]
    for k in top_ks:
        head += [f"IoU {_top_label(k)}", f"prec. {_top_label(k)}"]
    head += [f"mIoU top-{','.join(str(k) for k in top_ks)}"]
    lines += ["## Summary (micro)", "", "| " + " | ".join(head) + " |",
              "|" + "---|" * len(head)]
    for res in report.results:
        row = [res.name, str(res.n_images)]
        for k in top_ks:
            row += [_fmt(res.at_top_k(k, "iou")), _fmt(res.at_top_k(k, "precision"))]
        row.append(_fmt(res.mean_iou(top_ks)))
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")

    for res in report.results:
        if per_decile_sources is not None and res.name not in per_decile_sources:
            continue
        lines += [f"## Per decile: {res.name}", "",
                  "| object = | top k | micro prec. | micro recall | micro IoU | mean prec. "
                  "| mean recall | mean IoU | object share of the decile |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for row in res.rows():
            d = row["threshold"]
            lines.append("| " + " | ".join(
                [f"D>={d}" if d < 9 else "D9", str(row["top_k"])]
                + [_fmt(row[f"{avg}_{m}"]) for avg in ("micro", "mean") for m in METRICS]
                + [_fmt(row["decile_object_share"])]) + " |")
        lines.append("")
    if report.missing_masks:
        shown = report.missing_masks[:10]
        lines += ["## Samples without a mask", ""] + [f"- `{p}`" for p in shown]
        if len(report.missing_masks) > len(shown):
            lines.append(f"- ... and {len(report.missing_masks) - len(shown)} more "
                         f"(all in {REPORT_BASENAME}_missing_masks.txt)")
        lines.append("")
    return "\n".join(lines)


def summary_dict(report: EvaluationReport, top_ks: Sequence[int] = DEFAULT_TOP_KS) -> dict:
    """A JSON-able summary: per source, micro and mean metrics at every threshold."""
    return {
        "pssl_root": report.pssl_root, "mask_root": report.mask_root,
        "mask_format": report.mask_format, "samples": report.n_samples,
        "scored": report.n_evaluated, "missing_masks": len(report.missing_masks),
        "missing_maps": report.missing_maps, "top_ks": list(top_ks),
        "release_labels": report.release_labels, **report.extra,
        "sources": {
            res.name: {
                "images": res.n_images,
                "mean_iou_top_ks": _json_num(res.mean_iou(top_ks)),
                "by_top_k": {str(row["top_k"]): {k: _json_num(v) for k, v in row.items()
                                                 if k not in ("source",)}
                             for row in res.rows()},
            } for res in report.results},
    }


def _json_num(x):
    return None if isinstance(x, float) and not np.isfinite(x) else x


def write_report(report: EvaluationReport, output_dir: str,
                 top_ks: Sequence[int] = DEFAULT_TOP_KS) -> Dict[str, str]:
    """Write ``label_quality.{md,csv,json,png}`` (+ the missing-mask list) to ``output_dir``;
    returns kind -> path of each file written."""
    os.makedirs(output_dir, exist_ok=True)
    base = os.path.join(output_dir, REPORT_BASENAME)
    paths = {"markdown": base + ".md", "csv": base + ".csv", "json": base + ".json"}
    with open(paths["markdown"], "w", encoding="utf-8") as f:
        f.write(report_markdown(report, top_ks))
    rows = [row for res in report.results for row in res.rows()]
    with open(paths["csv"], "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v)
                             for k, v in row.items()})
    with open(paths["json"], "w", encoding="utf-8") as f:
        json.dump(summary_dict(report, top_ks), f, indent=2)
    if report.n_evaluated:
        paths["plot"] = plot_threshold_curves(report.results, base + ".png")
    if report.missing_masks:
        paths["missing"] = base + "_missing_masks.txt"
        with open(paths["missing"], "w", encoding="utf-8") as f:
            f.write("\n".join(report.missing_masks) + "\n")
    return paths
