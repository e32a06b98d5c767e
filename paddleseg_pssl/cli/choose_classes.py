"""Write a generation list file: each image's class = the candidate the ensemble finds likeliest.

    python tools/choose_classes.py --config my_generation.yml \\
        --candidates candidates.csv --output lists/chosen.txt
    # then: tools/generate_pssl.py --config my_generation.yml --opts images.list=lists/chosen.txt

The config gives the image root (images.root), the class list (images.synsets, required: the
candidates are ids into it), the resolution and the ensemble, exactly as generation uses them.
candidates.csv has the columns 'image' (path relative to images.root) and 'candidates' (class
ids separated by spaces). See paddleseg_pssl/analysis/class_choice.py.
"""
import argparse
import os
import sys

import paddle
from tqdm import tqdm

from paddleseg_pssl import pssl_format
from paddleseg_pssl.analysis import class_choice
from paddleseg_pssl.cli import common
from paddleseg_pssl.consensus.explain import classifier_loading
from paddleseg_pssl.consensus.run import config as config_mod
from paddleseg_pssl.consensus.explain import ensemble as ensemble_mod
from paddleseg_pssl.consensus.run import image_loop
from paddleseg_pssl.errors import PSSLConfigError

PROG = "tools/choose_classes.py"


def build_parser() -> argparse.ArgumentParser:
    parser = common.parser_from_docstring(PROG, __doc__)
    parser.add_argument("--config", required=True, help="Generation YAML (ensemble, root, ...).")
    parser.add_argument("--candidates", required=True, help="CSV: image, candidates.")
    parser.add_argument("--output", required=True, help="List file to write.")
    parser.add_argument("--opts", nargs="+", default=[], metavar="KEY=VALUE",
                        help="Override generation config keys, as tools/generate_pssl.py.")
    parser.add_argument("--device", choices=common.DEVICES, default=None,
                        help="Device (default: gpu when Paddle has CUDA, else cpu).")
    parser.add_argument("--quiet", action="store_true", help="No progress bar.")
    return parser


def run(args: argparse.Namespace) -> int:
    if not os.path.isfile(args.candidates):
        raise PSSLConfigError(f"--candidates {args.candidates!r} is not a file; write a CSV with "
                              "the columns 'image' and 'candidates'")
    # The images are those of the candidates file, whatever images.split / images.list say; no
    # label is written, so the config needs no output (the list's folder stands in, unwritten).
    cfg = config_mod.load_config(args.config, args.opts, {
        "images.list": args.candidates, "output": os.path.dirname(os.path.abspath(args.output))})
    if not cfg.images.synsets:
        raise config_mod.ConfigError("images.synsets", "the candidates are class ids; set the "
                                                       "class list they index")
    try:
        classes = pssl_format.read_class_list(cfg.images.synsets).ids
    except pssl_format.PSSLFormatError as exc:
        raise config_mod.ConfigError("images.synsets", str(exc)) from None
    rows = class_choice.read_candidates(args.candidates, len(classes))
    paddle.set_device(args.device or common.default_device())
    try:
        specs = ensemble_mod.with_classes(cfg.ensemble, len(classes))
        models = [classifier_loading.build_classifier(spec) for spec in specs]
    except (ensemble_mod.EnsembleConfigError, classifier_loading.ClassifierBuildError) as exc:
        raise config_mod.ConfigError("ensemble", str(exc)) from None
    choices = {}
    for row in tqdm(rows, desc="choosing classes", unit="img", file=sys.stderr,
                    disable=args.quiet):
        path = pssl_format.join_relpath(cfg.images.root, row.image_rel)
        try:
            image = image_loop.decode(path, cfg.resolution.short_side, cfg.resolution.max_long_side)
        except image_loop.ImageFailure as exc:
            raise PSSLConfigError(f"candidates file {args.candidates!r}: image {path!r}: "
                                  f"{exc.reason}") from None
        probs = class_choice.ensemble_probabilities(models, specs, image)
        choices[row.image_rel] = class_choice.most_probable(probs, row.candidates)
    class_choice.write_list_file(choices, args.output)
    print(f"wrote {len(choices)} images to {args.output}")
    return 0


main = common.command(PROG, build_parser, run)  # 0 ok, 2 bad input
