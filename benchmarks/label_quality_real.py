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
  explanations once, keeping every aggregation at n = 1 / 2 / 3 / 5 / 10 / 20 samples
  (``benchmarks/explanation_study.py``); normalisation and the number of models are
  label maths on the cached maps. Two 1-thread processes under ``paddle.distributed.launch``.
* ``holdout``: the check that the chosen defaults hold on photos they were not chosen on, made
  with the real ``tools/generate_pssl.py`` (list-file input, ``paddle.distributed.launch``) and
  scored with the real ``tools/evaluate_pssl.py --per_model``: n = 20 (the reference), cheaper
  sample counts, each model at its own input size, all models on one square, and (optionally)
  the reference without smoothing; each compared with the reference on the same photos by a
  paired bootstrap over photos (``photo_bootstrap.py``). ``--check_subset study`` runs the same
  through the tools on the study photos.

    python benchmarks/label_quality_real.py                 # study + holdout, writes the tables
    python benchmarks/label_quality_real.py --steps study   # only the ablation
    python benchmarks/label_quality_real.py --steps holdout --check_subset study \
        --holdout_n 2 --holdout_own_sizes 2 --holdout_square 0 0   # a holdout finding on the study

Outputs under ``--work`` (default ``output/label_quality_real``): ``study.md`` / ``.json``,
``holdout.md`` / ``.json``, the generation configs, list files, PSSL folders and caches (a rerun
resumes). A user's own images, masks and ensemble work the same way through the generic pieces:
``tools/choose_classes.py``, ``tools/generate_pssl.py``, ``tools/evaluate_pssl.py`` and
``benchmarks/explanation_study.py``.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from real_photo_reports import (factor_table, single_model_rows,  # noqa: E402
                                write_holdout_report)
from real_photo_runs import (GENERATE_BASE, MODELS, base_opts, choose_classes,  # noqa: E402
                             launch, read_objects, run, split_subsets, subprocess_env)

DEFAULT_REAL_ROOT = os.path.join(os.path.dirname(REPO), "shared", "data", "real")
DEFAULT_WORK = os.path.join(REPO, "output", "label_quality_real")

#: The generation's default short side (configs/pssl/generate/_base_/generate.yml).
SHORT_SIDE = 224
#: Sample counts the study keeps (prefixes of one pass's noise).
STUDY_CHECKPOINTS: Tuple[int, ...] = (1, 2, 3, 5, 10, 20, 50)
#: The passes: name -> (noise_amount, short_side, gradient_of, largest n). The noise levels are
#: examined at low n (noise 0 is the plain gradient, so one sample is all it has).
STUDY_PASSES: Dict[str, Tuple[float, int, str, int]] = {
    "base": (0.1, SHORT_SIDE, "probability", 20),   # n = 50: no better, docs/label_quality.md
    "noise_0": (0.0, SHORT_SIDE, "probability", 1),
    "noise_0.05": (0.05, SHORT_SIDE, "probability", 5),
    "noise_0.2": (0.2, SHORT_SIDE, "probability", 5),
    "noise_0.3": (0.3, SHORT_SIDE, "probability", 5),
    "logit": (0.1, SHORT_SIDE, "logit", 10),
    "short_side_320": (0.1, 320, "probability", 10),
}
#: Passes run unless --passes says otherwise (logit and 320 px were measured before: docs).
DEFAULT_PASSES: Tuple[str, ...] = ("base", "noise_0", "noise_0.05", "noise_0.2", "noise_0.3")
#: Compared with the shipped defaults on the holdout photos: the same without smoothing
#: (abs_of_mean, min-max, no smoothing) at the shipped n (the study has it at n = 50 too; the
#: holdout keeps to the cheaper n for time).
WITHOUT_SMOOTHING = {"consensus.smoothing": 0.0}
PER_CATEGORY_DEFAULT = 8
#: MSRC masks: 1 = object, 0 = other, this = unlabelled border (ignored).
MASK_IGNORE = 255


# ---- the study ---------------------------------------------------------------------------

def worker_main(args) -> None:
    """One rank of a study pass (run under paddle.distributed.launch)."""
    import paddle

    from explanation_study import ExplanationPass, compute_pass
    from paddleseg_pssl.consensus.run import config as config_mod
    from paddleseg_pssl.consensus.run import startup

    noise, short_side, target, largest = STUDY_PASSES[args.worker_pass]
    explanation = ExplanationPass(args.worker_pass, noise, short_side, target,
                                  tuple(c for c in STUDY_CHECKPOINTS if c <= largest))
    paddle.set_device("cpu")
    opts = base_opts(args.real_root, args.list_file) + [
        f"explainer.noise_amount={noise}", f"resolution.short_side={short_side}",
        f"explainer.gradient_of={target}", f"explainer.n_samples={largest}",
        "explainer.batch_size=1", f"output={args.cache}"]  # output: required, unused here
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


def _pass_checkpoints(pass_name: str) -> Tuple[int, ...]:
    return tuple(c for c in STUDY_CHECKPOINTS if c <= STUDY_PASSES[pass_name][3])


def study_variants():
    """The grid: on the base pass every aggregation x sample count x smoothing; on the other
    passes, and with the percentile clip (at n >= 10), every aggregation at each of their
    sample counts without and with the default smoothing; and InterpretDL's documented
    consensus (raw abs_of_mean maps averaged, at n >= 10)."""
    from explanation_study import NO_NORMALISATION, Variant
    from paddleseg_pssl.consensus.explain.engines import AGGREGATIONS
    from paddleseg_pssl.consensus.label_maths import DEFAULT_SMOOTHING as REFERENCE_SMOOTHING

    grid = [("base", agg, n, sm, "minmax") for agg in AGGREGATIONS
            for n in _pass_checkpoints("base") for sm in STUDY_SMOOTHINGS]
    grid += [(p, agg, n, sm, "minmax") for p in STUDY_PASSES if p != "base"
             for agg in AGGREGATIONS for n in _pass_checkpoints(p)
             for sm in (0.0, REFERENCE_SMOOTHING)]
    grid += [("base", agg, n, sm, "clip_p99") for agg in AGGREGATIONS
             for n in _pass_checkpoints("base") if n >= OTHER_PASS_SAMPLES
             for sm in (0.0, REFERENCE_SMOOTHING)]
    grid += [("base", "abs_of_mean", n, 0.0, NO_NORMALISATION)
             for n in _pass_checkpoints("base") if n >= OTHER_PASS_SAMPLES]
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
    from explanation_study import score_variants
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
    from paddleseg_pssl.consensus.explain import engine_base as base
    from paddleseg_pssl.consensus.run.generate_config import GenerateConfig

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
    from paddleseg_pssl.consensus.explain.engines import AGGREGATIONS

    d = dict(defaults)
    base_pass = _pass_of(d["noise_amount"], d["short_side"], d["gradient_of"])

    def get(pass_name=base_pass, agg=d["aggregation"], n=d["n_samples"],
            sm=d["smoothing"], norm=d["normalisation"]):
        return by_name.get(_variant_name(pass_name, agg, n, sm, norm))

    rows = []
    for agg in AGGREGATIONS:
        rows.append(("aggregation", agg, get(agg=agg), agg == d["aggregation"]))
    for n in _pass_checkpoints(base_pass):
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


#: Sample counts of the low-n table (each at every noise level its pass has).
LOW_N: Tuple[int, ...] = (1, 2, 3, 5)
#: The earlier default every cheaper setting is compared with (paired over photos).
REFERENCE_N = 20


def low_n_rows(by_name, defaults) -> List[Tuple[str, str, object, object]]:
    """(n, noise, scores, reference scores) of every low-n setting at the default aggregation,
    output, resolution and smoothing, beside the reference (n = REFERENCE_N, default noise)."""
    d = dict(defaults)
    reference = by_name.get(_variant_name(
        _pass_of(d["noise_amount"], d["short_side"], d["gradient_of"]), d["aggregation"],
        REFERENCE_N, d["smoothing"], d["normalisation"]))
    rows = []
    for n in LOW_N + (REFERENCE_N,):
        for name, (noise, side, target, largest) in STUDY_PASSES.items():
            if (side, target) != (d["short_side"], d["gradient_of"]) or n > largest:
                continue
            sc = by_name.get(_variant_name(name, d["aggregation"], n, d["smoothing"],
                                           d["normalisation"]))
            if sc is not None and reference is not None:
                rows.append((n, noise, sc, reference))
    return rows


def low_n_table(rows) -> List[str]:
    """Markdown lines of :func:`low_n_rows`: scores, and the paired difference from the
    reference with its 95 % interval over photo resamples."""
    from photo_bootstrap import interval_text, paired_difference

    lines = [f"| n_samples | noise | D9 precision | D9 IoU | D>=8 IoU | D9 precision vs n = "
             f"{REFERENCE_N} [95 %] | D>=8 IoU vs n = {REFERENCE_N} [95 %] | s / image |",
             "|---|---|---|---|---|---|---|---|"]
    for n, noise, sc, ref in rows:
        c = sc.consensus
        d9 = paired_difference(ref.histograms, sc.histograms, 1, "precision")
        d8 = paired_difference(ref.histograms, sc.histograms, 2, "iou")
        lines.append(f"| {n} | {noise:g} | {c.at_top_k(1, 'precision'):.3f} | "
                     f"{c.at_top_k(1):.3f} | {c.at_top_k(2):.3f} | {interval_text(d9)} | "
                     f"{interval_text(d8)} | {sc.seconds_per_image:.2f} |")
    return lines


def write_study_report(work, scores, counts, prior, prior_cats, best) -> None:
    import study_report

    by_name = {s.variant.name: s for s in scores}
    defaults = shipped_defaults()
    factors = one_factor_rows(by_name, defaults)
    default_scores = next((r[2] for r in factors if r[0] == "aggregation" and r[3]), None)
    unsmoothed = by_name.get(_variant_name("base", "abs_of_mean", REFERENCE_N, 0.0, "minmax"))

    factor_lines = factor_table(factors, prior)

    rows = [study_report.score_row(f"consensus, {s.variant.name}", s.consensus,
                                   s.seconds_per_image) for s in scores]
    rows.append(study_report.score_row("centred prior", prior))
    single_rows = single_model_rows(scores)
    count_rows = [study_report.score_row(c.variant.name, c.consensus, c.seconds_per_image)
                  for c in counts]
    per_cat = {}
    if unsmoothed is not None:
        per_cat[f"without smoothing (abs_of_mean n={REFERENCE_N})"] = unsmoothed.per_category
    if default_scores is not None:
        per_cat["shipped defaults"] = default_scores.per_category
    per_cat[f"best: {best.variant.name}"] = best.per_category
    per_cat["centred prior"] = prior_cats
    text = ["# PSSL label quality on real photos: ablation (study subset)", "",
            f"Images: {prior.n_images}. Micro-averaged over pixels; mask 255 ignored. "
            f"Shipped defaults: {defaults}. Best by D9 precision + D>=8 IoU: "
            f"{best.variant.name}.", "",
            "## One factor at a time from the shipped defaults", "", "\n".join(factor_lines),
            "", "## Low sample counts and noise levels (abs_of_mean, default smoothing)", "",
            "\n".join(low_n_table(low_n_rows(by_name, defaults))),
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
                   "model_counts": count_rows, "best": best.variant.name,
                   "low_n": low_n_table(low_n_rows(by_name, defaults))}, f, indent=1)
    print("\n".join(text))


# ---- the holdout check through the real tools -------------------------------------------

#: The holdout settings whose models are explained on squares: at their own input sizes, or
#: all at one size (to tell the size from the square).
OWN_SIZES = "own input sizes"
SQUARE = "square"


def holdout_settings(sample_counts: Sequence[int], noise: Optional[float],
                     own_sizes_n: Sequence[int], unsmoothed: bool,
                     square: Optional[Tuple[int, int]] = None) -> Dict[str, List[str]]:
    """Label -> generation overrides: the reference (the first sample count, default noise), the
    other sample counts (at ``noise``, None: the default), the
    reference count without smoothing (``unsmoothed``), and each of ``own_sizes_n`` with every
    model at its own input size (:data:`OWN_SIZES`); ``square``: (n, side) with every model on
    a side x side square."""
    noise_opts = [] if noise is None else [f"explainer.noise_amount={noise}"]
    reference, *cheaper = sample_counts
    settings = {f"n = {reference}": [f"explainer.n_samples={reference}"]}   # default noise
    settings.update({f"n = {n}" + ("" if noise is None else f", noise {noise:g}"):
                     [f"explainer.n_samples={n}"] + noise_opts for n in cheaper})
    if unsmoothed:
        settings[f"n = {REFERENCE_N}, without smoothing"] = [f"explainer.n_samples={REFERENCE_N}"] \
            + [f"{k}={v}" for k, v in WITHOUT_SMOOTHING.items()]
    for n in own_sizes_n:
        settings[f"n = {n}, {OWN_SIZES}"] = [f"explainer.n_samples={n}"] + noise_opts
    if square and square[0]:
        settings[f"n = {square[0]}, {SQUARE} {square[1]}"] = [
            f"explainer.n_samples={square[0]}"] + noise_opts
    return settings


def square_of(label: str) -> Optional[int]:
    """The square side of a holdout setting (0: each model's own size; None: no square)."""
    if OWN_SIZES in label:
        return 0
    if f", {SQUARE} " in label:
        return int(label.rsplit(" ", 1)[1])
    return None


def holdout(args, rows_by_subset, env) -> None:
    from photo_bootstrap import interval_text, label_histograms, paired_difference, \
        paired_histograms

    from paddleseg_pssl.analysis.masks import MaskSpec

    subset = args.check_subset
    list_file = choose_classes(args.real_root, rows_by_subset[subset], args.work, subset, env)
    mask_root = os.path.join(args.real_root, "msrc_objects", "masks")
    settings = holdout_settings(args.holdout_n, args.holdout_noise, args.holdout_own_sizes,
                                args.holdout_unsmoothed, args.holdout_square)
    summaries, histograms = {}, {}
    for label, extra in settings.items():
        # one folder per list and settings: a change of the defaults makes a new folder
        # (a default that every setting overrides, e.g. n_samples, does not make new folders)
        overridden = {opt.split("=")[0].rsplit(".", 1)[-1] for opt in extra}
        defaults = {k: v for k, v in shipped_defaults().items() if k not in overridden}
        key = json.dumps([os.path.basename(list_file), defaults, extra]
                         + ([OWN_SIZES] if OWN_SIZES in label else [])
                         + ([label] if square_of(label) else []))
        out = os.path.join(args.work, f"holdout_{hashlib.sha256(key.encode()).hexdigest()[:8]}")
        launch([os.path.join(REPO, "tools", "generate_pssl.py"), "--config", GENERATE_BASE,
                "--output", out, "--quiet", "--device", "cpu", "--opts"]
               + base_opts(args.real_root, list_file, square_of(label))
               + ["store.keep_model_maps=true"] + extra,
               env, os.path.join(args.work, "logs", os.path.basename(out)))
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
        histograms[label] = label_histograms(out, mask_root,
                                             MaskSpec("binary", binary_ignore=MASK_IGNORE))
    reference = next(iter(settings))
    for label in settings:
        ref, cand = paired_histograms(histograms[reference], histograms[label])
        summaries[label]["versus_reference"] = {
            "reference": reference,
            "d9_precision": interval_text(paired_difference(ref, cand, 1, "precision")),
            "d8_iou": interval_text(paired_difference(ref, cand, 2, "iou"))}
    report = ("holdout" if subset == "holdout" else f"{subset}_through_the_tools") + (
        "" if args.holdout_noise is None else f"_noise_{args.holdout_noise:g}")
    with open(os.path.join(args.work, f"{report}.json"), "w", encoding="utf-8") as f:
        json.dump(summaries, f, indent=1)
    write_holdout_report(args.work, summaries, report)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real_root", default=DEFAULT_REAL_ROOT)
    parser.add_argument("--work", default=DEFAULT_WORK)
    parser.add_argument("--steps", nargs="+", default=["study", "holdout"],
                        choices=["study", "holdout"])
    parser.add_argument("--passes", nargs="+", default=list(DEFAULT_PASSES),
                        choices=list(STUDY_PASSES))
    parser.add_argument("--per_category", type=int, default=PER_CATEGORY_DEFAULT)
    parser.add_argument("--holdout_n", type=int, nargs="+", default=[REFERENCE_N, 10, 5, 2, 1],
                        help="sample counts labelled on the holdout (the first is the "
                             "reference the others are compared with)")
    parser.add_argument("--holdout_noise", type=float, default=None,
                        help="noise level of the holdout runs but the reference (default: the "
                             "shipped one); reported in holdout_noise_<level>.md")
    parser.add_argument("--holdout_unsmoothed", action="store_true",
                        help=f"also label the holdout without smoothing (n = {REFERENCE_N})")
    parser.add_argument("--holdout_own_sizes", type=int, nargs="*", default=[1, 2, 5], metavar="N",
                        help="also label the holdout with N samples, each model explained at "
                             "its own input size")
    parser.add_argument("--holdout_square", type=int, nargs=2, default=(2, 224),
                        metavar=("N", "SIDE"), help="also label the holdout with N samples, "
                        "every model on a SIDE x SIDE square (N = 0: not run)")
    parser.add_argument("--check_subset", choices=["holdout", "study"], default="holdout",
                        help="the photos the holdout step labels through the real tools (study: "
                             "to check a holdout finding on the photos the study chose by)")
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
