"""Draw PSSL labels as in the paper's Figure 2: image, explanations, consensus, deciles, label.

Each row shows the image, each model's explanation (when kept: ``store.keep_model_maps``),
the consensus (Eq. 1; the float map when kept, ``store.keep_float``, else the deciles), the
decile map (Eq. 2) and the label (D9 -> the image's class, the rest -> background)::

    python tools/visualize_pssl.py --pssl_root data/pssl --image_root data/imagenet \\
        --images 8 --output out/figure2
    python tools/visualize_pssl.py --pssl_root data/pssl --image_root data/imagenet \\
        --list train/n01440764/n01440764_10026.JPEG --output out/figure2 \\
        --names ../shared/data/real/imagenet_classes/names.txt

With ``--mask_root`` and ``--mask_format`` (as in ``tools/evaluate_pssl.py``) the true mask is
drawn beside the label, titled with the label's D9 precision and IoU against it. Writes one
``<class>__<image file>.png`` per image and ``grid.png`` with all rows.
"""
import argparse
import os
from typing import List, Mapping, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from paddleseg_pssl import pssl_format as fmt
from paddleseg_pssl.analysis import pssl_io
from paddleseg_pssl.analysis.figures import PanelSet, save_panel_grid, save_panels
from paddleseg_pssl.analysis.masks import MaskSpec, find_mask, load_mask
from paddleseg_pssl.cli import common, evaluate_pssl
from paddleseg_pssl.consensus.explain.preprocess import load_rgb
from paddleseg_pssl.errors import PSSLConfigError

PROG = "tools/visualize_pssl.py"
DEFAULT_IMAGES = 8
GRID_FILE = "grid.png"


def build_parser() -> argparse.ArgumentParser:
    parser = common.parser_from_docstring(PROG, __doc__)
    parser.add_argument("--pssl_root", required=True, help="PSSL folder (train.txt, labels).")
    parser.add_argument("--image_root", required=True,
                        help="Image root the PSSL was generated from (train/<class>/*).")
    pick = parser.add_mutually_exclusive_group()
    pick.add_argument("--images", type=common.positive_int, default=None,
                      help=f"Draw N samples spread evenly over train.txt (default "
                           f"{DEFAULT_IMAGES}).")
    pick.add_argument("--list", nargs="+", default=None, metavar="PATH",
                      help="Samples to draw: label or image paths relative to their roots, "
                           "or image file names.")
    parser.add_argument("--output", required=True, help="Output folder for the PNGs.")
    parser.add_argument("--no_models", action="store_true",
                        help="Leave out the per-model panels even when the maps were kept "
                             "(store.keep_model_maps).")
    common.add_names_arg(parser)
    evaluate_pssl.add_mask_args(parser, required=False)
    return parser


def select_samples(samples: List[Tuple[str, str]], count: Optional[int],
                   wanted: Optional[Sequence[str]]) -> List[Tuple[str, str]]:
    """The samples to draw: ``wanted`` by path or file name, else ``count`` spread evenly."""
    if wanted:
        chosen = []
        for item in wanted:
            item = item.replace(os.sep, "/")
            hits = [s for s in samples if item in s or os.path.basename(s[1]) == item]
            if not hits:
                raise PSSLConfigError(f"--list {item!r} matches no sample of train.txt; give a "
                                      f"label path (e.g. {samples[0][0]!r}), an image path "
                                      f"({samples[0][1]!r}) or an image file name")
            chosen.append(hits[0])
        return chosen
    count = min(count or DEFAULT_IMAGES, len(samples))
    idx = np.unique(np.linspace(0, len(samples) - 1, count).round().astype(int))
    return [samples[i] for i in idx]


def class_names(pssl_root: str, names_file: Optional[str]) -> Mapping[str, str]:
    """Class id -> the name the figures show (from ``names_file`` when given)."""
    return dict(zip(*pssl_io.read_class_names(fmt.find_class_list(pssl_root), names_file)))


def load_panel(pssl_root: str, image_root: str, label_rel: str, image_rel: str,
               models: Sequence[str], names: Optional[Mapping[str, str]] = None) -> PanelSet:
    """Everything one Figure 2 row shows for one sample but the mask, at label resolution;
    ``names`` maps class ids to the names shown."""
    dec = pssl_io.read_decile_label(fmt.join_relpath(pssl_root, label_rel))
    h, w = dec.shape
    image_path = fmt.join_relpath(image_root, image_rel)
    if not os.path.isfile(image_path):
        raise PSSLConfigError(f"image {image_path!r} of label {label_rel!r} not found; "
                              "--image_root must be the root the PSSL was generated from")
    image = np.asarray(Image.fromarray(load_rgb(image_path)).resize((w, h), Image.BILINEAR))
    kept = pssl_io.load_model_maps(pssl_root, label_rel, (h, w)) if models else None
    model_maps = [(name, kept[name]) for name in models if kept and name in kept]
    class_id = fmt.class_name_of_label(label_rel)
    return PanelSet(title=image_rel, image=image, deciles=dec,
                    class_name=(names or {}).get(class_id, class_id), model_maps=model_maps,
                    consensus=pssl_io.load_consensus_map(pssl_root, label_rel))


def add_mask(panel: PanelSet, args: argparse.Namespace, spec: MaskSpec, label_rel: str,
             image_rel: str) -> PanelSet:
    """``panel`` with the true mask of its image when ``--mask_root`` holds one."""
    path = find_mask(args.mask_root, image_rel, args.mask_ext, args.mask_suffix,
                     fmt.LABEL_SPLIT_DIR)
    if path is None:
        print(f"no mask for {image_rel} under {args.mask_root}")
        return panel
    panel.mask = load_mask(path, spec, fmt.class_name_of_label(label_rel), panel.deciles.shape)
    return panel


def run(args: argparse.Namespace) -> int:
    pssl_io.require_dir(args.image_root, "image_root")
    samples = pssl_io.read_sample_list(args.pssl_root)
    if not samples:
        raise PSSLConfigError(f"{os.path.join(args.pssl_root, fmt.TRAIN_LIST_FILE)!r} is empty")
    models = [] if args.no_models else pssl_io.kept_model_names(args.pssl_root, samples)
    chosen = select_samples(samples, args.images, args.list)
    names = class_names(args.pssl_root, args.names)
    spec = evaluate_pssl.mask_spec_from_args(args)
    os.makedirs(args.output, exist_ok=True)
    panels = []
    for label_rel, image_rel in chosen:
        panel = load_panel(args.pssl_root, args.image_root, label_rel, image_rel, models, names)
        if spec is not None:
            panel = add_mask(panel, args, spec, label_rel, image_rel)
        name = f"{fmt.class_name_of_label(label_rel)}__{os.path.basename(image_rel)}.png"
        print(f"wrote {save_panels(panel, os.path.join(args.output, name))}")
        panels.append(panel)
    grid = save_panel_grid(panels, os.path.join(args.output, GRID_FILE))
    with_float = sum(p.consensus is not None for p in panels)
    print(f"wrote {grid} ({len(panels)} rows; per-model maps: {', '.join(models) or 'not kept'}; "
          f"float consensus kept for {with_float} of {len(panels)})")
    return 0


main = common.command(PROG, build_parser, run)  # 0 ok, 2 bad input
