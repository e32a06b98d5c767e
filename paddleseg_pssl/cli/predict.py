"""Segment images into every pre-training class + background (PSSL paper, Figure 3 / 6.2).

A PSSL-pretrained model (arXiv 2207.03335) predicts all classes of its pre-training set plus
background. This draws its prediction as a colour map with a legend of the classes covering
most pixels, named from the synsets file (``<id>`` or ``<id> <readable name>`` per line)::

    python tools/predict.py --config configs/pssl/pspnet_r50.yml \\
        --model_path output/iter_60000/model.pdparams --images demo/ photo.jpg \\
        --synsets data/pssl/synsets.txt --output out/predict --top_k 8

Per image it writes ``<stem>_prediction.png`` (image | colour map | overlay + legend) and
``<stem>_classes.png`` (class ids; uint16 when there are more than 256 outputs), and
``predictions.json`` with the legend and the Section 6.1 image-level top-5 of each image.
PaddleSeg's ``--image_path``/``--save_dir`` are accepted for ``--images``/``--output``; for
fine-tuned checkpoints, PaddleSeg's own ``tools/predict.py`` runs with the plugin loaded
(``docs/paddleseg_scripts.md``).
"""
import argparse
import json
import os
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from paddleseg_pssl.analysis import pssl_io
from paddleseg_pssl.analysis.prediction import (BACKGROUND_NAME, check_class_count,
                                                image_class_scores, legend_entries,
                                                list_images, load_segmentation_model,
                                                predict_probabilities, read_rgb,
                                                resolve_background_index, top_k_classes)
from paddleseg_pssl.cli import common

PROG = "tools/predict.py"


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """--config, --model_path, --synsets, --opts, --device, --background_index, --target_size."""
    parser.add_argument("--config", required=True, help="PaddleSeg YAML config of the model.")
    parser.add_argument("--model_path", required=True,
                        help="model.pdparams, or the iter_<N> folder holding it.")
    parser.add_argument("--synsets", required=True,
                        help="Class list in output order (the PSSL synsets.txt), optionally "
                             "'<id> <readable name>' per line.")
    parser.add_argument("--opts", nargs="+", default=None, metavar="KEY=VALUE",
                        help="Override config keys, as in PaddleSeg.")
    parser.add_argument("--device", choices=common.DEVICES, default=common.default_device(),
                        help="Device (default %(default)s).")
    parser.add_argument("--background_index", type=int, default=-1,
                        help="Output channel of background (default -1: the last, as PSSL "
                             "labels do).")
    parser.add_argument("--target_size", nargs=2, type=common.positive_int, default=None,
                        metavar=("W", "H"),
                        help="Resize every image to W H first (default: the config's "
                             "val_dataset transforms).")


def build_parser() -> argparse.ArgumentParser:
    parser = common.parser_from_docstring(PROG, __doc__)
    add_model_args(parser)
    parser.add_argument("--images", "--image_path", nargs="+", required=True,
                        help="Image files and/or folders of images (--image_path: PaddleSeg's "
                             "name).")
    parser.add_argument("--output", "--save_dir", required=True,
                        help="Output folder (--save_dir: PaddleSeg's name).")
    parser.add_argument("--top_k", type=common.positive_int, default=8,
                        help="Classes in the legend (default %(default)s).")
    return parser


def _unique_stem(path: str, used: set) -> str:
    """Output name of an image: its stem, prefixed by its folder when the stem repeats."""
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem in used:
        stem = f"{os.path.basename(os.path.dirname(os.path.abspath(path)))}_{stem}"
    base, n = stem, 1
    while stem in used:
        n += 1
        stem = f"{base}_{n}"
    used.add(stem)
    return stem


def run(args: argparse.Namespace) -> int:
    import paddle

    from paddleseg_pssl.analysis.figures import class_palette, save_prediction_figure

    class_ids, names = pssl_io.read_class_names(args.synsets)
    images = list_images(args.images)
    paddle.set_device(args.device)
    model, transforms = load_segmentation_model(args.config, args.model_path, args.opts,
                                                args.target_size)
    os.makedirs(args.output, exist_ok=True)
    palette = None
    summary = {}
    used_stems: set = set()
    for path in images:
        probs = predict_probabilities(model, path, transforms)
        channels = probs.shape[0]
        check_class_count(channels, len(names), f"--synsets {args.synsets!r}")
        b = resolve_background_index(channels, args.background_index)
        if palette is None:
            palette = class_palette(channels, background_index=b)
        pred = probs.argmax(axis=0)
        legend = legend_entries(pred, names, b, args.top_k)
        scores = image_class_scores(probs, b)
        top5 = top_k_classes(scores, 5)
        stem = _unique_stem(path, used_stems)
        image = read_rgb(path)
        if image.shape[:2] != pred.shape:
            image = np.asarray(Image.fromarray(image).resize(pred.shape[::-1], Image.BILINEAR))
        title = f"{os.path.basename(path)}: image-level top-1 {names[top5[0]]} " \
                f"({scores[top5[0]] * 100:.1f}%)"
        fig_path = save_prediction_figure(image, pred, palette, legend,
                                          os.path.join(args.output, f"{stem}_prediction.png"),
                                          title=title)
        dtype = np.uint8 if channels <= 256 else np.uint16
        Image.fromarray(pred.astype(dtype)).save(os.path.join(args.output, f"{stem}_classes.png"))
        summary[path] = {
            "legend": [{"channel": c, "class": class_ids[c if c < b else c - 1]
                        if n != BACKGROUND_NAME else BACKGROUND_NAME, "name": n,
                        "pixel_share": round(s, 5)} for c, n, s in legend],
            "image_top5": [{"class": class_ids[i], "name": names[i],
                            "score": round(float(scores[i]), 5)} for i in top5],
        }
        shown = ", ".join(f"{n} {s * 100:.1f}%" for _, n, s in legend)
        print(f"{fig_path}: {shown}")
    with open(os.path.join(args.output, "predictions.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
    print(f"wrote {len(images)} predictions and predictions.json to {args.output}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``tools/predict.py`` and ``pssl-predict``; 0 ok, 2 bad input."""
    return common.run_command(PROG, build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
