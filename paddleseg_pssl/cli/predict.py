"""Segment images with a PSSL-pretrained or a fine-tuned model (PSSL paper, Figure 3 / 6.2).

A PSSL-pretrained model predicts all classes of its pre-training set plus background (its last
output), named from ``--synsets`` (``<id>`` or ``<id> <readable name>`` per line) or ``--names``::

    python tools/predict.py --config configs/pssl/pspnet_r50.yml \\
        --model_path output/iter_60000/model.pdparams --images demo/ photo.jpg \\
        --synsets data/pssl/synsets.txt --output out/predict --top_k 8

A fine-tuned model has its dataset's classes and no background; ``--synsets`` is optional::

    python tools/predict.py --config configs/pssl/finetune/camvid/pspnet_r50_pssl.yml \\
        --model_path output/camvid/best_model/model.pdparams --image_path photo.png \\
        --save_dir out/camvid --aug_pred --flip_horizontal

Per image it writes ``<stem>_prediction.png`` (image | colour map | overlay + legend of the
classes covering most pixels) and ``<stem>_classes.png`` (class ids; uint16 above 256 outputs),
and ``predictions.json`` with the legend and the image-level top-5 (Section 6.1) of each image.
PaddleSeg's own flags (``--image_path``, ``--save_dir``, ``--aug_pred``...) mean what they mean
in PaddleSeg's ``tools/predict.py``.
"""
import argparse
import json
import os
from typing import List, Optional, Sequence, Tuple

import numpy as np
import paddle
from PIL import Image

from paddleseg_pssl import pssl_format as fmt
from paddleseg_pssl.analysis import pssl_io
from paddleseg_pssl.analysis.figures import class_palette, save_prediction_figure
from paddleseg_pssl.analysis.prediction import (BACKGROUND_NAME, InferenceOptions,
                                                check_class_count, image_class_scores,
                                                legend_entries, list_images, load_predictor,
                                                predict_probabilities,
                                                resolve_background_index, top_k_classes)
from paddleseg_pssl.cli import common
from paddleseg_pssl.consensus.explain.preprocess import load_rgb
from paddleseg_pssl.errors import PSSLConfigError

PROG = "tools/predict.py"

#: --custom_color takes triples of 8-bit channel values.
RGB = 3
MAX_COLOR = 255


def add_model_args(parser: argparse.ArgumentParser, synsets_required: bool = True,
                   background_index: Optional[int] = -1) -> None:
    """--config, --model_path, --synsets, --opts, --device, --background_index, --target_size."""
    parser.add_argument("--config", required=True, help="PaddleSeg YAML config of the model.")
    parser.add_argument("--model_path", required=True,
                        help="model.pdparams, or the iter_<N> folder holding it.")
    parser.add_argument("--synsets", required=synsets_required, default=None,
                        help="Class list in output order (the PSSL synsets.txt), optionally "
                             "'<id> <readable name>' per line"
                             + ("." if synsets_required else " (default: class ids)."))
    parser.add_argument("--opts", nargs="+", default=None, metavar="KEY=VALUE",
                        help="Override config keys, as in PaddleSeg.")
    parser.add_argument("--device", choices=common.DEVICES, default=common.default_device(),
                        help="Device (default %(default)s).")
    parser.add_argument("--background_index", type=int, default=background_index,
                        help="Output channel of background (-1: the last, as PSSL labels do; "
                             "default: " + ("-1" if background_index == -1 else
                                            "-1 for PSSL models, none for fine-tuned ones")
                             + ").")
    parser.add_argument("--target_size", nargs=2, type=common.positive_int, default=None,
                        metavar=("W", "H"), help="Resize every image to W H first (default: "
                                                 "the config's val_dataset transforms).")


def build_parser() -> argparse.ArgumentParser:
    parser = common.parser_from_docstring(PROG, __doc__)
    add_model_args(parser, synsets_required=False, background_index=None)
    common.add_names_arg(parser)
    parser.add_argument("--images", "--image_path", nargs="+", required=True,
                        help="Image files and/or folders of images (--image_path: PaddleSeg's "
                             "name).")
    parser.add_argument("--output", "--save_dir", required=True,
                        help="Output folder (--save_dir: PaddleSeg's name).")
    parser.add_argument("--top_k", type=common.positive_int, default=8,
                        help="Classes in the legend (default %(default)s).")
    common.add_test_time_args(parser, "--aug_pred", default_scales=None)
    parser.add_argument("--custom_color", nargs="+", type=int, default=None,
                        help="R G B of the first classes' colours, as in PaddleSeg.")
    return parser


def inference_options(args: argparse.Namespace) -> InferenceOptions:
    """PaddleSeg's test-time flags as options; flags that would have no effect and a malformed
    --custom_color are refused."""
    if not args.aug_pred:
        for flag in ("scales", "flip_horizontal", "flip_vertical"):
            if getattr(args, flag):
                raise PSSLConfigError(f"--{flag} works only with --aug_pred; add --aug_pred "
                                      f"or drop --{flag}")
    if args.is_slide and (args.crop_size is None or args.stride is None):
        raise PSSLConfigError("--is_slide needs --crop_size W H and --stride W H")
    if not args.is_slide and (args.crop_size is not None or args.stride is not None):
        raise PSSLConfigError("--crop_size/--stride work only with --is_slide; add --is_slide "
                              "or drop them")
    colors = args.custom_color or []
    if len(colors) % RGB or any(not 0 <= c <= MAX_COLOR for c in colors):
        raise PSSLConfigError(f"--custom_color takes R G B triples of 0..{MAX_COLOR}, got "
                              f"{len(colors)} values")
    return InferenceOptions(aug_pred=args.aug_pred, scales=tuple(args.scales or (1.0,)),
                            flip_horizontal=args.flip_horizontal,
                            flip_vertical=args.flip_vertical, is_slide=args.is_slide,
                            crop_size=tuple(args.crop_size) if args.crop_size else None,
                            stride=tuple(args.stride) if args.stride else None)


def apply_custom_color(palette: np.ndarray, custom_color: Optional[Sequence[int]]) -> np.ndarray:
    """``palette`` with its first rows replaced by --custom_color's triples (PaddleSeg's rule)."""
    if not custom_color:
        return palette
    colors = np.asarray(custom_color, dtype=np.uint8).reshape(-1, RGB)[:len(palette)]
    palette = palette.copy()
    palette[:len(colors)] = colors
    return palette


def class_names(args: argparse.Namespace, channels: int,
                background: Optional[int]) -> Tuple[List[str], List[str]]:
    """(class ids, names) of the object classes, in output order, without background."""
    count = channels - (0 if background is None else 1)
    if args.synsets is None:
        ids = [str(i) for i in range(count)]
        return ids, fmt.read_names(args.names, ids) if args.names else list(ids)
    ids, names = pssl_io.read_class_names(args.synsets, args.names)
    source = f"--synsets {args.synsets!r}"
    if background is not None:
        check_class_count(channels, len(names), source)
    elif len(names) != channels:
        raise PSSLConfigError(f"the model has {channels} outputs but {source} lists "
                              f"{len(names)} classes; give one name per output, in class "
                              f"order (this config's model has no background output; "
                              f"--background_index -1 if its last output is background)")
    return ids, names


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


def _channel_class(channel: int, background: Optional[int], class_ids: List[str]) -> str:
    """The class id shown for an output channel (background has none)."""
    if channel == background:
        return BACKGROUND_NAME
    return class_ids[channel if background is None or channel < background else channel - 1]


def run(args: argparse.Namespace) -> int:
    options = inference_options(args)
    images = list_images(args.images)
    paddle.set_device(args.device)
    loaded = load_predictor(args.config, args.model_path, args.opts, args.target_size)
    background_arg = args.background_index
    if background_arg is None and loaded.is_pssl:
        background_arg = -1  # PSSL labels: background is the last output
    os.makedirs(args.output, exist_ok=True)
    palette = None
    summary = {}
    used_stems: set = set()
    for path in images:
        probs = predict_probabilities(loaded.model, path, loaded.transforms, options)
        channels = probs.shape[0]
        b = None if background_arg is None else resolve_background_index(channels,
                                                                           background_arg)
        if palette is None:
            class_ids, names = class_names(args, channels, b)
            palette = apply_custom_color(class_palette(channels, background_index=b),
                                         args.custom_color)
        pred = probs.argmax(axis=0)
        legend = legend_entries(pred, names, b, args.top_k)
        scores = image_class_scores(probs, b)
        top5 = top_k_classes(scores, 5)
        stem = _unique_stem(path, used_stems)
        image = load_rgb(path)
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
            "legend": [{"channel": c, "class": _channel_class(c, b, class_ids), "name": n,
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


main = common.command(PROG, build_parser, run)  # 0 ok, 2 bad input
