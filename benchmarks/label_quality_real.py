"""Benchmark (not a test): PSSL label quality on real photos with real ImageNet classifiers.

Data: ``../shared/data/real`` (see its README): MSRC-v2 photos with object masks (1 = object,
0 = other, 255 = ignored) and the ImageNet classes each category can be, and five real ImageNet
MobileNets. The benchmark skips (exit 0, one line) where that folder is absent.

Protocol, per image: the class explained is the candidate the ensemble finds most probable
(``tools/choose_classes.py``); labels are scored against the mask, ignoring 255, at D9
(the PSSL label), D>=8, against every single model and the centred-Gaussian prior.

Two subsets of the photos, disjoint, stratified by category (``--per_category`` images of each,
picked by a hash of the file name, not by MSRC's order):

* ``study``: the ablation. Each *pass* (noise level, resolution, differentiated output) runs the
  explanations once, keeping every aggregation at n = 10 / 20 / 50 samples
  (:mod:`paddleseg_pssl.analysis.explanation_study`); normalisation and the number of models are
  label maths on the cached maps. Two 1-thread processes under ``paddle.distributed.launch``.
* ``holdout``: the check that the chosen defaults hold on photos they were not chosen on, made
  with the real ``tools/generate_pssl.py`` (list-file input, ``paddle.distributed.launch``) and
  scored with the real ``tools/evaluate_pssl.py --per_model``, for the shipped defaults and for
  the same without smoothing (the earlier default's labels at the shipped n).

    python benchmarks/label_quality_real.py                 # study + holdout, writes the tables
    python benchmarks/label_quality_real.py --steps study   # only the ablation
    python benchmarks/label_quality_real.py --steps holdout --per_category 8

Outputs under ``--work`` (default ``output/label_quality_real``): ``study.md`` / ``.json``,
``holdout.md`` / ``.json``, the generation configs, list files, PSSL folders and caches (a rerun
resumes). A user's own images, masks and ensemble work the same way through the generic pieces:
``tools/choose_classes.py``, ``tools/generate_pssl.py``, ``tools/evaluate_pssl.py`` and
:mod:`paddleseg_pssl.analysis.explanation_study`.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from typing import Dict, List, Optional, Sequence, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

DEFAULT_REAL_ROOT = os.path.join(os.path.dirname(REPO), "shared", "data", "real")
DEFAULT_WORK = os.path.join(REPO, "output", "label_quality_real")
GENERATE_BASE = os.path.join(REPO, "configs", "pssl", "generate", "_base_", "generate.yml")

#: The five real classifiers of ``<real_root>/imagenet_classifiers`` (factory = file stem).
MODELS: Tuple[str, ...] = ("mobilenet_v1_025_128", "mobilenet_v1_050_160",
                           "mobilenet_v1_075_192", "mobilenet_v2_100_224",
                           "tf2_mobilenet_v2_100_224")
FACTORY_MODULE = "imagenet_mobilenets"

#: Sample counts the study keeps (prefixes of one pass's noise).
STUDY_CHECKPOINTS: Tuple[int, ...] = (10, 20, 50)
#: The passes: name -> (noise_amount, short_side, gradient_of, largest n).
STUDY_PASSES: Dict[str, Tuple[float, int, str, int]] = {
    "base": (0.1, 224, "probability", 50),
    "logit": (0.1, 224, "logit", 10),
    "noise_0.2": (0.2, 224, "probability", 10),
    "noise_0.05": (0.05, 224, "probability", 10),
    "short_side_320": (0.1, 320, "probability", 10),
}
#: Compared with the shipped defaults on the holdout photos: the same without smoothing, i.e.
#: the earlier default (abs_of_mean, min-max, no smoothing) at the shipped n (the study has it
#: at n = 50 too; the holdout keeps to the cheaper n for time).
WITHOUT_SMOOTHING = {"consensus.smoothing": 0.0}
PER_CATEGORY_DEFAULT = 8
#: MSRC masks: 1 = object, 0 = other, this = unlabelled border (ignored).
MASK_IGNORE = 255
PROCESSES = 2
THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


# ---- MSRC specifics ------------------------------------------------------------------------

def read_objects(real_root: str) -> List[Dict[str, str]]:
    with open(os.path.join(real_root, "msrc_objects", "objects.csv"), encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _hash_order(stem: str) -> str:
    return hashlib.sha256(stem.encode("utf-8")).hexdigest()


def split_subsets(rows: Sequence[Dict[str, str]], per_category: int
                  ) -> Dict[str, List[Dict[str, str]]]:
    """Disjoint ``study`` and ``holdout`` subsets: per category, images in hash order, the first
    ``per_category`` to the study, the next ``per_category`` to the holdout."""
    by_cat: Dict[str, List[Dict[str, str]]] = {}
    for row in rows:
        by_cat.setdefault(row["category"], []).append(row)
    out: Dict[str, List[Dict[str, str]]] = {"study": [], "holdout": []}
    for cat in sorted(by_cat):
        ordered = sorted(by_cat[cat], key=lambda r: _hash_order(r["image"]))
        out["study"] += ordered[:per_category]
        out["holdout"] += ordered[per_category:2 * per_category]
    return out


def write_candidates(rows: Sequence[Dict[str, str]], path: str) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["image", "candidates"])
        for row in rows:
            writer.writerow([f"{row['image']}.jpg", row["imagenet_candidates"]])
    return path


# ---- configs and subprocesses --------------------------------------------------------------

def ensemble_opts(real_root: str) -> List[str]:
    weights = os.path.join(real_root, "imagenet_classifiers")
    entries = [f"{{arch: '{FACTORY_MODULE}:{m}', weights: '{os.path.join(weights, m)}.pdparams'}}"
               for m in MODELS]
    return [f"ensemble=[{', '.join(entries)}]"]


def base_opts(real_root: str, list_file: Optional[str]) -> List[str]:
    images = os.path.join(real_root, "msrc_objects", "images")
    synsets = os.path.join(real_root, "imagenet_classes", "synsets.txt")
    listed = [f"images.list={list_file}"] if list_file else []
    return [f"images.root={images}", f"images.synsets={synsets}", "num_workers=1"] + listed \
        + ensemble_opts(real_root)


def subprocess_env(real_root: str) -> Dict[str, str]:
    env = dict(os.environ, **THREAD_ENV)
    paths = [os.path.join(real_root, "imagenet_classifiers"), REPO]
    env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def run(cmd: List[str], env: Dict[str, str], log_dir: str) -> None:
    print("+", " ".join(cmd), flush=True)
    completed = subprocess.run(cmd, env=env, cwd=REPO)
    if completed.returncode != 0:
        raise SystemExit(f"command failed with status {completed.returncode}: {' '.join(cmd)}"
                         f" (launcher logs: {log_dir})")


def launch(script_args: List[str], env: Dict[str, str], log_dir: str) -> None:
    run([sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", str(PROCESSES),
         "--log_dir", log_dir] + script_args, env, log_dir)


def choose_classes(real_root: str, rows, work: str, subset: str, env) -> str:
    """The subset's list file, made once per candidates content (a rerun with another
    --per_category gets its own)."""
    candidates = write_candidates(rows, os.path.join(work, f"{subset}_candidates.csv"))
    with open(candidates, "rb") as f:
        tag = hashlib.sha256(f.read()).hexdigest()[:8]
    list_file = os.path.join(work, f"{subset}_{len(rows)}_{tag}_list.txt")
    if os.path.isfile(list_file):
        return list_file
    run([sys.executable, os.path.join(REPO, "tools", "choose_classes.py"), "--config",
         GENERATE_BASE, "--candidates", candidates, "--output", list_file, "--device", "cpu",
         "--opts"] + base_opts(real_root, None), env, work)
    return list_file


# ---- the study ---------------------------------------------------------------------------

def worker_main(args) -> None:
    """One rank of a study pass (run under paddle.distributed.launch)."""
    import paddle

    from paddleseg_pssl.analysis.explanation_study import ExplanationPass, compute_pass
    from paddleseg_pssl.consensus import config as config_mod
    from paddleseg_pssl.consensus import startup

    noise, short_side, target, largest = STUDY_PASSES[args.worker_pass]
    explanation = ExplanationPass(args.worker_pass, noise, short_side, target,
                                  tuple(c for c in STUDY_CHECKPOINTS if c <= largest))
    paddle.set_device("cpu")
    opts = base_opts(args.real_root, args.list_file) + [
        f"explainer.noise_amount={noise}", f"resolution.short_side={short_side}",
        f"explainer.gradient_of={target}", f"explainer.n_samples={largest}",
        "explainer.batch_size=1"]
    cfg = config_mod.load_config(GENERATE_BASE, opts)
    ctx = startup.prepare(cfg)
    from tqdm import tqdm

    compute_pass(ctx, explanation, args.cache,
                 progress=lambda it: tqdm(it, desc=f"{args.worker_pass} rank {ctx.rank}",
                                          unit="img", mininterval=30, file=sys.stderr))


#: Per-model smoothing (Gaussian sigma, fraction of the short side) tried on the base pass.
STUDY_SMOOTHINGS: Tuple[float, ...] = (0.0, 0.01, 0.02, 0.04, 0.08)
#: Sample count of the passes other than the base (compared with the base at the same count).
OTHER_PASS_SAMPLES = 10


def _variant_name(pass_name: str, agg: str, n: int, smoothing: float, norm: str) -> str:
    parts = [pass_name, agg, f"n={n}"]
    if smoothing:
        parts.append(f"smooth {smoothing:g}")
    if norm != "minmax":
        parts.append(norm)
    return " ".join(parts)


def study_variants():
    """The grid: on the base pass every aggregation x sample count x smoothing; on the other
    passes and with the percentile clip, every aggregation without and with the default
    smoothing."""
    from paddleseg_pssl.analysis.explanation_study import Variant
    from paddleseg_pssl.consensus.engines import AGGREGATIONS
    from paddleseg_pssl.consensus.label_maths import DEFAULT_SMOOTHING as REFERENCE_SMOOTHING

    grid = [("base", agg, n, sm, "minmax") for agg in AGGREGATIONS
            for n in STUDY_CHECKPOINTS for sm in STUDY_SMOOTHINGS]
    grid += [(p, agg, OTHER_PASS_SAMPLES, sm, "minmax") for p in STUDY_PASSES if p != "base"
             for agg in AGGREGATIONS for sm in (0.0, REFERENCE_SMOOTHING)]
    grid += [("base", agg, n, sm, "clip_p99") for agg in AGGREGATIONS
             for n in STUDY_CHECKPOINTS
             for sm in (0.0, REFERENCE_SMOOTHING)]
    return [Variant(_variant_name(*g), g[0], g[1], g[2], g[4], g[3]) for g in grid]


def model_count_variants(best):
    """Consensus of the first k models (strongest last, so k = 1 is the weakest alone) and of
    the best k by top-1 (strongest first), k = 1..5."""
    out = []
    for k in range(1, len(MODELS) + 1):
        for label, order in (("weakest", MODELS), ("strongest", tuple(reversed(MODELS)))):
            out.append(dataclasses.replace(best, name=f"models: {label} {k}", models=order[:k]))
    return out


def read_samples(list_file: str, objects: Dict[str, Dict[str, str]], synsets: List[str]):
    from paddleseg_pssl import pssl_format

    samples, categories = [], {}
    with open(list_file, encoding="utf-8") as f:
        for line in f:
            image_rel, class_id = line.rsplit(None, 1)
            class_name = synsets[int(class_id)]
            samples.append((pssl_format.label_relpath(class_name, image_rel), image_rel,
                            class_name))
            categories[image_rel] = objects[os.path.splitext(image_rel)[0]]["category"]
    return samples, categories


def study(args, rows_by_subset, env) -> None:
    from paddleseg_pssl.analysis.explanation_study import score_variants
    from paddleseg_pssl.analysis.masks import MaskSpec

    subset = rows_by_subset["study"]
    list_file = choose_classes(args.real_root, subset, args.work, "study", env)
    cache = os.path.join(args.work, "study_cache")
    passes = [p for p in STUDY_PASSES if p in args.passes]
    for pass_name in passes:
        launch([os.path.abspath(__file__), "--worker_pass", pass_name, "--list_file", list_file,
                "--cache", cache, "--real_root", args.real_root],
               env, os.path.join(args.work, "logs", f"study_{pass_name}"))
    objects = {r["image"]: r for r in read_objects(args.real_root)}
    synsets = [l.split()[0] for l in open(os.path.join(args.real_root, "imagenet_classes",
                                                       "synsets.txt"), encoding="utf-8")]
    samples, categories = read_samples(list_file, objects, synsets)
    mask_root = os.path.join(args.real_root, "msrc_objects", "masks")
    variants = [v for v in study_variants() if v.pass_name in passes]
    from paddleseg_pssl.consensus.label_maths import DEFAULT_SMOOTHING

    singles_for = [v.name for v in variants if v.smoothing in (0.0, DEFAULT_SMOOTHING)
                   and v.pass_name == "base"]
    masks = MaskSpec("binary", binary_ignore=MASK_IGNORE)
    scores, prior, prior_cats = score_variants(cache, samples, mask_root, variants, MODELS,
                                               categories=categories, singles_for=singles_for,
                                               mask_spec=masks)
    best = max(scores, key=lambda s: (s.consensus.at_top_k(1, "precision")
                                      + s.consensus.at_top_k(2)))
    counts, _, _ = score_variants(cache, samples, mask_root, model_count_variants(best.variant),
                                  MODELS, categories=categories, mask_spec=masks)
    write_study_report(args.work, scores, counts, prior, prior_cats, best)


def shipped_defaults() -> Dict[str, object]:
    """The explanation and consensus defaults a generation config gets (code constants)."""
    from paddleseg_pssl.consensus.engines import base
    from paddleseg_pssl.consensus.generate_config import GenerateConfig

    defaults = GenerateConfig()
    return {"aggregation": base.DEFAULT_AGGREGATION, "n_samples": base.DEFAULT_N_SAMPLES,
            "noise_amount": base.DEFAULT_NOISE_AMOUNT, "gradient_of": base.DEFAULT_GRADIENT_OF,
            "short_side": defaults.resolution.short_side,
            "normalisation": defaults.consensus.normalisation,
            "smoothing": defaults.consensus.smoothing}


def _pass_of(noise: float, short_side: int, target: str) -> str:
    for name, (p_noise, p_side, p_target, _) in STUDY_PASSES.items():
        if (p_noise, p_side, p_target) == (noise, short_side, target):
            return name
    raise SystemExit(f"no study pass has noise {noise}, short side {short_side}, {target}")


def one_factor_rows(by_name, defaults) -> List[Tuple[str, str, object, bool]]:
    """(factor, value, scores, is_default) rows: each factor varied alone from the defaults.
    Factors that need another pass are compared at that pass's sample count, with the base
    pass at the same count as their reference row."""
    from paddleseg_pssl.consensus.engines import AGGREGATIONS

    d = dict(defaults)
    base_pass = _pass_of(d["noise_amount"], d["short_side"], d["gradient_of"])

    def get(pass_name=base_pass, agg=d["aggregation"], n=d["n_samples"],
            sm=d["smoothing"], norm=d["normalisation"]):
        return by_name.get(_variant_name(pass_name, agg, n, sm, norm))

    rows = []
    for agg in AGGREGATIONS:
        rows.append(("aggregation", agg, get(agg=agg), agg == d["aggregation"]))
    for n in STUDY_CHECKPOINTS:
        rows.append(("n_samples", n, get(n=n), n == d["n_samples"]))
    for sm in STUDY_SMOOTHINGS:
        rows.append(("smoothing", sm, get(sm=sm), sm == d["smoothing"]))
    for norm in ("minmax", "clip_p99"):
        rows.append(("normalisation", norm, get(norm=norm), norm == d["normalisation"]))
    n_other = OTHER_PASS_SAMPLES
    rows.append((f"noise / short side / output (n={n_other})",
                 f"{d['noise_amount']} / {d['short_side']} / {d['gradient_of']}",
                 get(n=n_other), n_other == d["n_samples"]))
    for name, (noise, side, target, _) in STUDY_PASSES.items():
        if name != base_pass:
            rows.append((f"noise / short side / output (n={n_other})",
                         f"{noise} / {side} / {target}", get(pass_name=name, n=n_other), False))
    return [r for r in rows if r[2] is not None]


def write_study_report(work, scores, counts, prior, prior_cats, best) -> None:
    from paddleseg_pssl.analysis import study_report

    by_name = {s.variant.name: s for s in scores}
    defaults = shipped_defaults()
    factors = one_factor_rows(by_name, defaults)
    default_scores = next((r[2] for r in factors if r[0] == "aggregation" and r[3]), None)
    earlier = by_name.get(_variant_name("base", "abs_of_mean", 50, 0.0, "minmax"))

    factor_lines = ["| factor | value | D9 precision | D9 IoU | D>=8 IoU | s / image |",
                    "|---|---|---|---|---|---|"]
    for factor, value, sc, is_default in factors:
        mark = "**" if is_default else ""
        c = sc.consensus
        factor_lines.append(f"| {factor} | {mark}{value}{mark} | {c.at_top_k(1, 'precision'):.3f}"
                            f" | {c.at_top_k(1):.3f} | {c.at_top_k(2):.3f} | "
                            f"{sc.seconds_per_image:.1f} |")
    factor_lines.append(f"| centred prior | | {prior.at_top_k(1, 'precision'):.3f} | "
                        f"{prior.at_top_k(1):.3f} | {prior.at_top_k(2):.3f} | |")

    rows = [study_report.score_row(f"consensus, {s.variant.name}", s.consensus,
                                   s.seconds_per_image) for s in scores]
    rows.append(study_report.score_row("centred prior", prior))
    single_rows = []
    for s in scores:
        if not s.singles:
            continue
        precisions = [r.at_top_k(1, "precision") for r in s.singles.values()]
        iou8 = [r.at_top_k(2) for r in s.singles.values()]
        single_rows.append({"variant": s.variant.name,
                            "best_single_d9_precision": max(precisions),
                            "worst_single_d9_precision": min(precisions),
                            "best_single_d8_iou": max(iou8),
                            "consensus_d9_precision": s.consensus.at_top_k(1, "precision"),
                            "consensus_d8_iou": s.consensus.at_top_k(2)})
    count_rows = [study_report.score_row(c.variant.name, c.consensus, c.seconds_per_image)
                  for c in counts]
    per_cat = {}
    if earlier is not None:
        per_cat["earlier default (abs_of_mean n=50)"] = earlier.per_category
    if default_scores is not None:
        per_cat["shipped defaults"] = default_scores.per_category
    per_cat[f"best: {best.variant.name}"] = best.per_category
    per_cat["centred prior"] = prior_cats
    text = ["# PSSL label quality on real photos: ablation (study subset)", "",
            f"Images: {prior.n_images}. Micro-averaged over pixels; mask 255 ignored. "
            f"Shipped defaults: {defaults}. Best by D9 precision + D>=8 IoU: "
            f"{best.variant.name}.", "",
            "## One factor at a time from the shipped defaults", "", "\n".join(factor_lines),
            "", "## Consensus vs single models", "",
            "| variant | consensus D9 prec | best single D9 prec | worst single | "
            "consensus D>=8 IoU | best single D>=8 IoU |", "|---|---|---|---|---|---|"]
    for r in single_rows:
        text.append(f"| {r['variant']} | {r['consensus_d9_precision']:.3f} | "
                    f"{r['best_single_d9_precision']:.3f} | {r['worst_single_d9_precision']:.3f}"
                    f" | {r['consensus_d8_iou']:.3f} | {r['best_single_d8_iou']:.3f} |")
    text += ["", f"## Number of models ({best.variant.name})", "",
             study_report.markdown_table(count_rows), "",
             "## Per category (D9 precision / D>=8 IoU)", "",
             study_report.category_table(per_cat), "",
             "## Every variant", "", study_report.markdown_table(rows), ""]
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(work, "study.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(text))
    with open(os.path.join(work, "study.json"), "w", encoding="utf-8") as f:
        json.dump({"defaults": defaults, "rows": rows, "singles": single_rows,
                   "model_counts": count_rows, "best": best.variant.name}, f, indent=1)
    print("\n".join(text))


# ---- the holdout check through the real tools -------------------------------------------

def holdout(args, rows_by_subset, env) -> None:
    list_file = choose_classes(args.real_root, rows_by_subset["holdout"], args.work, "holdout",
                               env)
    mask_root = os.path.join(args.real_root, "msrc_objects", "masks")
    settings = {"shipped defaults": [], "without smoothing (earlier default, shipped n)":
                [f"{k}={v}" for k, v in WITHOUT_SMOOTHING.items()]}
    summaries = {}
    for i, (label, extra) in enumerate(settings.items()):
        # one folder per list and settings: a change of the defaults makes a new folder
        key = json.dumps([os.path.basename(list_file), shipped_defaults(), extra])
        out = os.path.join(args.work, f"holdout_{i}_{hashlib.sha256(key.encode()).hexdigest()[:8]}")
        launch([os.path.join(REPO, "tools", "generate_pssl.py"), "--config", GENERATE_BASE,
                "--output", out, "--quiet", "--device", "cpu", "--opts"]
               + base_opts(args.real_root, list_file) + ["store.keep_model_maps=true"] + extra,
               env, os.path.join(args.work, "logs", f"holdout_{i}"))
        report = os.path.join(out, "evaluation")
        run([sys.executable, os.path.join(REPO, "tools", "evaluate_pssl.py"), "--pssl_root", out,
             "--mask_root", mask_root, "--mask_format", "binary", "--binary_ignore",
             str(MASK_IGNORE), "--per_model", "--quiet",
             "--output", report], env, out)
        with open(os.path.join(report, "label_quality.json"), encoding="utf-8") as f:
            summaries[label] = json.load(f)
        with open(os.path.join(out, "manifest.json"), encoding="utf-8") as f:
            manifest = json.load(f)
        summaries[label]["run"] = manifest["run"]
        summaries[label]["settings"] = {k: manifest["settings"][k]
                                        for k in ("explainer", "consensus", "resolution")}
    with open(os.path.join(args.work, "holdout.json"), "w", encoding="utf-8") as f:
        json.dump(summaries, f, indent=1)
    write_holdout_report(args.work, summaries)


def _metrics(source: Dict) -> Tuple[float, float, float]:
    top = source["by_top_k"]
    return top["1"]["micro_precision"], top["1"]["micro_iou"], top["2"]["micro_iou"]


def write_holdout_report(work: str, summaries: Dict[str, Dict]) -> None:
    lines = ["# PSSL label quality on real photos: holdout (tools/generate_pssl.py + "
             "tools/evaluate_pssl.py)", "",
             "| settings | source | images | D9 precision | D9 IoU | D>=8 IoU | s / image |",
             "|---|---|---|---|---|---|---|"]
    prior = None
    for label, summary in summaries.items():
        sources = summary["sources"]
        ranks = summary["run"]["ranks"].values()
        labelled = sum(r.get("labelled", 0) for r in ranks)
        seconds = (sum(r.get("seconds", 0.0) for r in ranks) / labelled if labelled
                   else float("nan"))
        cons = _metrics(sources["consensus"])
        shown = "" if seconds != seconds else f"{seconds:.1f}"   # NaN: nothing labelled now
        lines.append(f"| {label} | consensus of {len(MODELS)} | {summary['scored']} | "
                     + " | ".join(f"{x:.3f}" for x in cons) + f" | {shown} |")
        singles = [_metrics(v) for k, v in sources.items() if k not in ("consensus",
                                                                         "centred prior")]
        lo = [min(s[i] for s in singles) for i in range(3)]
        hi = [max(s[i] for s in singles) for i in range(3)]
        lines.append(f"| {label} | single models | {summary['scored']} | "
                     + " | ".join(f"{a:.3f} - {b:.3f}" for a, b in zip(lo, hi)) + " | |")
        prior = _metrics(sources["centred prior"])
    lines.append(f"| | centred prior | | " + " | ".join(f"{x:.3f}" for x in prior) + " | |")
    lines += ["", "s / image: process-seconds per image labelled by this run (all five models; "
                  "two 1-thread processes side by side; blank when the run only resumed)."]
    with open(os.path.join(work, "holdout.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real_root", default=DEFAULT_REAL_ROOT)
    parser.add_argument("--work", default=DEFAULT_WORK)
    parser.add_argument("--steps", nargs="+", default=["study", "holdout"],
                        choices=["study", "holdout"])
    parser.add_argument("--passes", nargs="+", default=list(STUDY_PASSES),
                        choices=list(STUDY_PASSES))
    parser.add_argument("--per_category", type=int, default=PER_CATEGORY_DEFAULT)
    parser.add_argument("--worker_pass", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--list_file", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--cache", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.real_root = os.path.abspath(args.real_root)
    if args.worker_pass:
        worker_main(args)
        return 0
    if not os.path.isdir(os.path.join(args.real_root, "msrc_objects")):
        print(f"skipped: no real data at {args.real_root} (see the benchmark's docstring)")
        return 0
    args.work = os.path.abspath(args.work)
    env = subprocess_env(args.real_root)
    rows_by_subset = split_subsets(read_objects(args.real_root), args.per_category)
    if "study" in args.steps:
        study(args, rows_by_subset, env)
    if "holdout" in args.steps:
        holdout(args, rows_by_subset, env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
