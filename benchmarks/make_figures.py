"""Remake the real-photo figures of README.md and docs/label_quality.md (not a test).

Data: ``../shared/data/real`` (see ``label_quality_real.py``): one MSRC-v2 photo per category
(the first in hash order of file name, not picked by looks), labelled by the five real ImageNet
MobileNets with the shipped generation defaults, through the tools a user runs:
``tools/choose_classes.py`` (the candidate class the ensemble finds most probable),
``tools/generate_pssl.py`` (keeping the per-model maps), ``tools/evaluate_pssl.py --per_model``
and ``tools/visualize_pssl.py`` with the true masks and ImageNet's class names. The photos are
ranked by how far their label's D9 precision exceeds the object's share of the photo (what a
random tenth of the pixels would score, so a photo filled by its object cannot rank high); the
best and the worst go to Figure 2::

    python benchmarks/make_figures.py    # about 10 minutes on a shared 2-core CPU

Writes to ``docs/images/``: ``figure2_msrc_good.png`` and ``figure2_msrc_bad.png`` (the
``--rows`` best and worst labels) and ``label_quality_msrc.png`` (evaluate_pssl's curve per
decile: consensus, each model, centred prior), each shrunk to a 256-colour PNG of at most
400 KB. Work files (labels, reports, full-size figures) go to ``--work``; a rerun reuses the
labels. Exits 0 with one line where the real data is absent.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from real_photo_runs import (GENERATE_BASE, base_opts, choose_classes, read_objects,  # noqa: E402
                             run, split_subsets, subprocess_env)

DEFAULT_REAL_ROOT = os.path.join(os.path.dirname(REPO), "shared", "data", "real")
DEFAULT_WORK = os.path.join(REPO, "output", "figures")
DOCS_IMAGES = os.path.join(REPO, "docs", "images")
#: Rows of each Figure 2 (best labels, worst labels).
DEFAULT_ROWS = 3
#: MSRC masks: 1 = object, 0 = other, this = unlabelled border (ignored).
MASK_IGNORE = 255
#: Size limits of a committed figure.
MAX_FIGURE_BYTES = 400_000
MAX_FIGURE_WIDTH = 1600
PALETTE_COLOURS = 256
#: Each try that is still too large is scaled down by this factor.
SHRINK_STEP = 0.85


def tool(name: str) -> List[str]:
    return [sys.executable, os.path.join(REPO, "tools", name)]


def mask_flags(real_root: str) -> List[str]:
    return ["--mask_root", os.path.join(real_root, "msrc_objects", "masks"), "--mask_format",
            "binary", "--binary_ignore", str(MASK_IGNORE)]


def generate(real_root: str, work: str, env) -> str:
    """Labels of one photo per category, with the per-model maps kept; the PSSL folder."""
    rows = split_subsets(read_objects(real_root), 1)["study"]
    list_file = choose_classes(real_root, rows, work, "figures", env)
    out = os.path.join(work, "pssl")
    run(tool("generate_pssl.py") + ["--config", GENERATE_BASE, "--output", out, "--quiet",
                                    "--device", "cpu", "--opts"]
        + base_opts(real_root, list_file) + ["store.keep_model_maps=true",
                                             "store.keep_float=true"], env, work)
    return out


def ranked_images(pssl_root: str, real_root: str) -> List[Tuple[float, float, str]]:
    """(D9 precision minus the object's share, D9 precision, image path) of every label, best
    first."""
    from paddleseg_pssl.analysis import pssl_io
    from paddleseg_pssl.analysis.label_quality import image_scores
    from paddleseg_pssl.analysis.masks import MaskSpec, find_mask, load_mask
    from paddleseg_pssl import pssl_format as fmt

    spec = MaskSpec("binary", binary_ignore=MASK_IGNORE)
    scored = []
    for label_rel, image_rel in pssl_io.read_sample_list(pssl_root):
        dec = pssl_io.read_decile_label(fmt.join_relpath(pssl_root, label_rel))
        mask = find_mask(os.path.join(real_root, "msrc_objects", "masks"), image_rel)
        fg, valid = load_mask(mask, spec, fmt.class_name_of_label(label_rel), dec.shape)
        precision = image_scores(dec, fg, valid)["precision"]
        scored.append((precision - float(fg[valid].mean()), precision, image_rel))
    return sorted(scored, reverse=True)


def shrink(source: str, target: str) -> str:
    """``source`` as a 256-colour PNG at ``target``, scaled down until it fits the limits."""
    from PIL import Image

    with Image.open(source) as img:
        img = img.convert("RGB")
    scale = min(1.0, MAX_FIGURE_WIDTH / img.width)
    while True:
        size = (round(img.width * scale), round(img.height * scale))
        img.resize(size, Image.LANCZOS).quantize(PALETTE_COLOURS).save(target, optimize=True)
        if os.path.getsize(target) <= MAX_FIGURE_BYTES:
            return target
        scale *= SHRINK_STEP


def figure2(pssl_root: str, real_root: str, images: List[str], work: str, name: str, env
            ) -> str:
    out = os.path.join(work, name)
    run(tool("visualize_pssl.py") + [
        "--pssl_root", pssl_root, "--image_root", os.path.join(real_root, "msrc_objects",
                                                               "images"),
        "--list", *images, "--output", out, "--names",
        os.path.join(real_root, "imagenet_classes", "names.txt")] + mask_flags(real_root),
        env, work)
    return shrink(os.path.join(out, "grid.png"), os.path.join(DOCS_IMAGES, f"{name}.png"))


def label_quality(pssl_root: str, real_root: str, work: str, env) -> str:
    out = os.path.join(work, "evaluation")
    run(tool("evaluate_pssl.py") + ["--pssl_root", pssl_root, "--per_model", "--quiet",
                                    "--output", out] + mask_flags(real_root), env, work)
    return shrink(os.path.join(out, "label_quality.png"),
                  os.path.join(DOCS_IMAGES, "label_quality_msrc.png"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real_root", default=DEFAULT_REAL_ROOT)
    parser.add_argument("--work", default=DEFAULT_WORK)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    args = parser.parse_args(argv)
    real_root = os.path.abspath(args.real_root)
    if not os.path.isdir(os.path.join(real_root, "msrc_objects")):
        print(f"skipped: no real data at {real_root} (see the script's docstring)")
        return 0
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    env = subprocess_env(real_root)
    pssl_root = generate(real_root, work, env)
    ranked = ranked_images(pssl_root, real_root)
    print("D9 precision - object share, D9 precision, image")
    for lift, precision, image in ranked:
        print(f"{lift:+.3f}  {precision:.3f}  {image}")
    best = [image for *_, image in ranked[:args.rows]]
    worst = [image for *_, image in ranked[-args.rows:]]
    written = [figure2(pssl_root, real_root, best, work, "figure2_msrc_good", env),
               figure2(pssl_root, real_root, worst, work, "figure2_msrc_bad", env),
               label_quality(pssl_root, real_root, work, env)]
    for path in written:
        print(f"wrote {os.path.relpath(path, REPO)} ({os.path.getsize(path) // 1000} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
