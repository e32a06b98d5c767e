"""Score a PSSL folder against ground-truth masks: per-decile precision / recall / IoU.

How well each threshold "top k deciles" (PSSL labels D9 as the object) matches the true
object masks, for the consensus labels, for each single model when the generator kept the
per-model maps (``--per_model``), and for a centred-Gaussian prior::

    python tools/evaluate_pssl.py --pssl_root data/pssl --mask_root data/masks \\
        --mask_format binary --output out/label_quality
    # ImageNet-S annotated train images (train-semi-segmentation/<class>/<stem>.png):
    python tools/evaluate_pssl.py --pssl_root pssl --mask_format imagenet_s \\
        --mask_root ImageNetS919/train-semi-segmentation \\
        --imagenet_s_categories ImageNetS_categories_im919.txt

Masks are matched to labels by the image path: for the label of ``train/<class>/<stem>.JPEG``
the first existing of ``<mask_root>/train/<class>/<stem><suffix><ext>``,
``<mask_root>/train/<class>/<stem>.JPEG<suffix><ext>`` and the same two without the leading
``train/`` is used (``--mask_ext``, default .png; ``--mask_suffix``, default empty). Samples
without a mask are counted and listed, not fatal. Writes ``label_quality.md`` (also printed),
``.csv``, ``.json`` and ``.png`` to ``--output``.
"""
import argparse
import sys
from typing import Optional

from tqdm import tqdm

from paddleseg_pssl.analysis import pssl_io
from paddleseg_pssl.analysis.evaluate import (CONSENSUS_SOURCE, DEFAULT_TOP_KS, evaluate_pssl_root,
                                              report_markdown, write_report)
from paddleseg_pssl.analysis.label_quality import DEFAULT_PRIOR_SIGMA_FRACTION
from paddleseg_pssl.analysis.masks import (DEFAULT_CLASS_INDEX_IGNORE, DEFAULT_MASK_EXTENSION,
                                           MASK_FORMATS, MaskSpec, class_index_ids,
                                           imagenet_s_class_ids, mask_relpath_candidates)
from paddleseg_pssl.cli import common
from paddleseg_pssl.constants import DECILE_COUNT
from paddleseg_pssl.errors import PSSLConfigError

PROG = "tools/evaluate_pssl.py"


def add_mask_args(parser: argparse.ArgumentParser, required: bool) -> None:
    """--mask_root, --mask_format and how masks are named and encoded (also for
    tools/visualize_pssl.py)."""
    parser.add_argument("--mask_root", required=required, default=None,
                        help="Folder of ground-truth masks.")
    parser.add_argument("--mask_format", required=required, default=None, choices=MASK_FORMATS,
                        help="binary: 0 / 1 or 255; class_index: pixel = class id of the "
                             "image (index in synsets.txt + --class_id_offset); imagenet_s: "
                             "RGB, class = R + 256*G, 0 = other, 1000 = ignore.")
    parser.add_argument("--mask_ext", default=DEFAULT_MASK_EXTENSION,
                        help="Mask file extension (default %(default)s).")
    parser.add_argument("--mask_suffix", default="",
                        help="Text between the image stem and --mask_ext, e.g. _mask.")
    parser.add_argument("--class_id_offset", type=common.non_negative_int, default=0,
                        help="class_index: pixel value of class i is i + offset (1 when 0 is "
                             "background in the masks).")
    parser.add_argument("--ignore_value", type=int, default=DEFAULT_CLASS_INDEX_IGNORE,
                        help="class_index: value of unannotated pixels (default %(default)s; "
                             "-1 for none).")
    parser.add_argument("--binary_ignore", type=common.positive_int, default=None, metavar="VALUE",
                        help="binary: pixels of this value are unannotated (e.g. 255) and "
                             "every other non-zero value is object (default: 0/1 or 0/255, "
                             "with 255 ignored only beside 1).")
    parser.add_argument("--imagenet_s_categories", default=None,
                        help="imagenet_s: ImageNetS_categories_im{50,300,919}.txt; only the "
                             "image's own class is then foreground (default: any annotated "
                             "object).")


def mask_spec_from_args(args: argparse.Namespace) -> Optional[MaskSpec]:
    """The MaskSpec the flags describe; None without --mask_root."""
    if args.mask_root is None:
        return None
    pssl_io.require_dir(args.mask_root, "mask_root")
    if args.mask_format is None:
        raise PSSLConfigError(f"--mask_root needs --mask_format (one of {list(MASK_FORMATS)})")
    if args.mask_format == "class_index":
        ignore = None if args.ignore_value < 0 else args.ignore_value
        return MaskSpec("class_index", class_index_ids(pssl_io.read_synsets(args.pssl_root),
                                                       args.class_id_offset), ignore)
    if args.mask_format == "imagenet_s" and args.imagenet_s_categories:
        return MaskSpec("imagenet_s", imagenet_s_class_ids(args.imagenet_s_categories))
    if args.mask_format == "binary":
        return MaskSpec("binary", binary_ignore=args.binary_ignore)
    return MaskSpec(args.mask_format)


def _top_k(text: str) -> int:
    value = common.positive_int(text)
    if value > DECILE_COUNT:
        raise argparse.ArgumentTypeError(f"{value} > {DECILE_COUNT}; a threshold counts top "
                                         f"deciles, 1 (D9 only) .. {DECILE_COUNT}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = common.parser_from_docstring(PROG, __doc__)
    parser.add_argument("--pssl_root", required=True, help="PSSL folder (train.txt, labels).")
    add_mask_args(parser, required=True)
    parser.add_argument("--thresholds", nargs="+", type=_top_k, default=list(DEFAULT_TOP_KS),
                        metavar="K", help="Thresholds of the summary, as numbers of top "
                                          "deciles: 1 = D9, 2 = D>=8, ... (default 1 2 3).")
    parser.add_argument("--output", default=None,
                        help="Folder for label_quality.{md,csv,json,png} (default: print only).")
    parser.add_argument("--per_model", action="store_true",
                        help="Also score each single model's kept map (<pssl_root>/model_maps/, "
                             "written with store.keep_model_maps).")
    parser.add_argument("--prior_sigma", type=common.positive_float,
                        default=DEFAULT_PRIOR_SIGMA_FRACTION,
                        help="Centred prior: Gaussian sigma as a fraction of each side "
                             "(default %(default)s).")
    parser.add_argument("--limit", type=common.positive_int, default=None,
                        help="Score only the first N samples of train.txt.")
    parser.add_argument("--quiet", action="store_true", help="No progress bar.")
    return parser


def run(args: argparse.Namespace) -> int:
    spec = mask_spec_from_args(args)
    report = evaluate_pssl_root(args.pssl_root, args.mask_root, spec, per_model=args.per_model,
                                mask_ext=args.mask_ext, mask_suffix=args.mask_suffix,
                                prior_sigma_fraction=args.prior_sigma, limit=args.limit,
                                progress=lambda it: tqdm(it, desc="scoring labels", unit="img",
                                                         file=sys.stderr, disable=args.quiet))
    # The console gets the summary and the consensus's per-decile table; the file has all.
    print(report_markdown(report, args.thresholds, per_decile_sources=[CONSENSUS_SOURCE]))
    if args.output:
        for kind, path in write_report(report, args.output, args.thresholds).items():
            print(f"wrote {kind}: {path}")
    if report.n_evaluated == 0:
        tried = mask_relpath_candidates(report.missing_masks[0], args.mask_ext,
                                        args.mask_suffix) if report.missing_masks else []
        raise PSSLConfigError(f"no mask found for any of the {report.n_samples} samples under "
                              f"--mask_root {args.mask_root!r} (for the first sample tried "
                              f"{tried}); check --mask_root, --mask_ext and --mask_suffix")
    return 0


main = common.command(PROG, build_parser, run)  # 0 ok, 2 bad input
