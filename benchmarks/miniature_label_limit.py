"""What limits the miniature's labels: how precise a label from a *perfect* explainer could be.

The miniature's classes differ by shape only, so a classifier's evidence is the object's
outline. This scores, on a ``tools/demo.py`` world's labelled images and true masks, the
labels a perfect outline detector would give (pixels ranked by their distance to the true
boundary: any ridge on the boundary bins the same), a perfect region detector (depth inside
the true mask), the centred prior and the world's own PSSL labels, and how many of each
label's D9 pixels lie near the boundary:

    python benchmarks/miniature_label_limit.py --world demo_output
"""
import argparse
import pathlib
import sys
from typing import Dict, List, Sequence

import cv2
import numpy as np

from paddleseg_pssl import pssl_format as fmt
from paddleseg_pssl.analysis import pssl_io
from paddleseg_pssl.analysis.label_quality import (QualityAccumulator, centred_prior_deciles,
                                                   deciles)
from paddleseg_pssl.analysis.masks import MaskSpec, find_mask, load_mask
from paddleseg_pssl.constants import TOP_DECILE
from study_report import score_row

#: Distances (pixels) within which a D9 pixel counts as "on the outline".
NEAR_BOUNDARY_PX = (2, 4)
#: Far below one pixel of distance: orders tied pixels without reordering any others.
TIE_JITTER = 1e-3


def boundary_distance(foreground: np.ndarray) -> np.ndarray:
    """Distance (pixels) of every pixel to the mask's boundary, inside and outside alike."""
    fg = foreground.astype(np.uint8)
    inside = cv2.distanceTransform(fg, cv2.DIST_L2, 5)
    outside = cv2.distanceTransform(1 - fg, cv2.DIST_L2, 5)
    return np.where(foreground, inside, outside).astype(np.float32)


def outline_deciles(distance: np.ndarray) -> np.ndarray:
    """The label of a perfect outline detector, from :func:`boundary_distance`: nearest the
    true boundary first (Eq. 2)."""
    return deciles(-distance)


def region_deciles(foreground: np.ndarray) -> np.ndarray:
    """The label of a perfect region detector: deepest inside the true mask first (Eq. 2);
    a fixed tiny jitter splits the distance transform's ties so that D9 stays a tenth."""
    inside = cv2.distanceTransform(foreground.astype(np.uint8), cv2.DIST_L2, 5)
    return deciles(inside + np.random.default_rng(0).random(inside.shape) * TIE_JITTER)


def score(world: pathlib.Path, pssl_root: pathlib.Path) -> List[Dict]:
    """One row per source: D9 precision, D9 and D>=8 IoU, share of D9 pixels near the
    boundary (inside or outside)."""
    sources = ["PSSL labels", "centred prior", "perfect outline", "perfect region"]
    accs = {name: QualityAccumulator(name) for name in sources}
    near = {name: np.zeros(len(NEAR_BOUNDARY_PX)) for name in sources}
    d9_pixels = dict.fromkeys(sources, 0)
    spec = MaskSpec("binary")
    mask_root = world / "data" / "classification" / "masks"
    for label_rel, image_rel in pssl_io.read_sample_list(str(pssl_root)):
        mask_path = find_mask(str(mask_root), image_rel, split_dir=fmt.LABEL_SPLIT_DIR)
        if mask_path is None:
            continue
        label = fmt.read_decile_png(fmt.join_relpath(pssl_root, label_rel))
        fg, valid = load_mask(mask_path, spec, fmt.class_name_of_label(label_rel), label.shape)
        distance = boundary_distance(fg)
        maps = {"PSSL labels": label, "centred prior": centred_prior_deciles(label.shape),
                "perfect outline": outline_deciles(distance),
                "perfect region": region_deciles(fg)}
        for name, dec in maps.items():
            accs[name].add(dec, fg, valid)
            top = dec == TOP_DECILE
            d9_pixels[name] += int(top.sum())
            near[name] += [int((top & (distance <= px)).sum()) for px in NEAR_BOUNDARY_PX]
    rows = []
    for name in sources:
        scores = score_row(name, accs[name].result())
        row = {"source": name, "images": scores["images"],
               "D9 precision": scores["d9_precision"], "D9 IoU": scores["d9_iou"],
               "D>=8 IoU": scores["d8_iou"]}
        for px, count in zip(NEAR_BOUNDARY_PX, near[name]):
            row[f"D9 within {px} px of the outline"] = count / max(d9_pixels[name], 1)
        rows.append(row)
    return rows


def markdown(rows: List[Dict]) -> str:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", required=True, help="a finished tools/demo.py --output folder")
    parser.add_argument("--pssl_root", help="labels to score (default: <world>/pssl)")
    args = parser.parse_args(argv)
    world = pathlib.Path(args.world)
    pssl_root = pathlib.Path(args.pssl_root) if args.pssl_root else world / "pssl"
    print(markdown(score(world, pssl_root)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
