"""Top-1 / top-5 accuracy of a segmentation model used as a classifier (PSSL paper, 6.1).

A PSSL-pretrained model classifies an image by averaging its per-pixel softmax probabilities
and taking the best non-background class (77.6% ImageNet top-1 after 30 epochs). Images are
read in ImageNet layout, ``<image_root>/<split>/<class>/*``, classes named as in ``--synsets``::

    python tools/classify_eval.py --config configs/pssl/pspnet_r50.yml \\
        --model_path output/iter_60000/model.pdparams --image_root data/imagenet \\
        --synsets data/pssl/synsets.txt [--split val] [--limit_per_class 10]
"""
import argparse
import json
import os
import sys

import paddle
from tqdm import tqdm

from paddleseg_pssl.analysis import pssl_io
from paddleseg_pssl.analysis.prediction import (AccuracyCounter, check_class_count,
                                                image_class_scores,
                                                list_classification_images,
                                                load_segmentation_model, predict_probabilities)
from paddleseg_pssl.cli import common
from paddleseg_pssl.cli.predict import add_model_args

PROG = "tools/classify_eval.py"


def build_parser() -> argparse.ArgumentParser:
    parser = common.parser_from_docstring(PROG, __doc__)
    add_model_args(parser)
    parser.add_argument("--image_root", required=True,
                        help="Dataset root in ImageNet layout (<split>/<class>/*).")
    parser.add_argument("--split", default="val",
                        help="Split folder under image_root (default %(default)s; '' when the "
                             "class folders are directly in image_root).")
    parser.add_argument("--limit_per_class", type=common.positive_int, default=None,
                        help="At most N images per class.")
    parser.add_argument("--output", default=None, help="Write the accuracies as JSON here.")
    parser.add_argument("--quiet", action="store_true", help="No progress bar.")
    return parser


def run(args: argparse.Namespace) -> int:
    class_ids, _ = pssl_io.read_class_names(args.synsets)
    samples, unknown = list_classification_images(args.image_root, class_ids, args.split,
                                                  args.limit_per_class)
    if unknown:
        print(f"skipping {len(unknown)} class folders not in --synsets "
              f"(e.g. {unknown[:3]})", file=sys.stderr)
    paddle.set_device(args.device)
    model, transforms = load_segmentation_model(args.config, args.model_path, args.opts,
                                                args.target_size)
    counter = AccuracyCounter(len(class_ids))
    bar = tqdm(samples, desc="classifying", unit="img", file=sys.stderr, disable=args.quiet)
    for path, target in bar:
        probs = predict_probabilities(model, path, transforms)
        check_class_count(probs.shape[0], len(class_ids), f"--synsets {args.synsets!r}")
        counter.add(image_class_scores(probs, args.background_index), target)
        bar.set_postfix(top1=f"{counter.top1 / counter.total:.3f}")
    result = counter.summary()
    result.update(config=args.config, model_path=args.model_path,
                  image_root=args.image_root, split=args.split, classes=len(class_ids))
    print(f"images: {result['images']}  top-1: {result['top1'] * 100:.2f}%  "
          f"top-5: {result['top5'] * 100:.2f}%  "
          f"mean per-class top-1: {result['mean_per_class_top1'] * 100:.2f}%")
    if args.output:
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        with open(args.output, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
        print(f"wrote {args.output}")
    return 0


main = common.command(PROG, build_parser, run)  # 0 ok, 2 bad input
