"""The ground-truth mask flags of ``tools/evaluate_pssl.py`` and ``tools/visualize_pssl.py``."""
import argparse
from typing import Optional

from paddleseg_pssl.analysis import pssl_io
from paddleseg_pssl.analysis.masks import (DEFAULT_CLASS_INDEX_IGNORE, DEFAULT_MASK_EXTENSION,
                                           MASK_FORMATS, MaskSpec, class_index_ids,
                                           imagenet_s_class_ids)
from paddleseg_pssl.cli import common
from paddleseg_pssl.errors import PSSLConfigError


def add_mask_args(parser: argparse.ArgumentParser, required: bool) -> None:
    """--mask_root, --mask_format and the flags saying how masks are named and encoded."""
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
    parser.add_argument("--binary_ignore", type=common.positive_int, default=None,
                        metavar="VALUE",
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
