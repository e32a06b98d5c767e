"""The flags of PaddleSeg 2.8's ``tools/train.py``/``val.py`` beyond the common ones.

``--data_format``, ``--repeats``, ``--profiler_options`` (train) and ``--auc_roc`` (val) mean
what they mean in PaddleSeg; where PaddleSeg would fail late or silently, the run is refused
before it starts with one line saying why.
"""
import argparse
from typing import Any, Dict

from paddleseg_pssl.cli import common
from paddleseg_pssl.errors import PSSLConfigError

#: Input layouts PaddleSeg's models take.
DATA_FORMATS = ("NCHW", "NHWC")

#: The only model PaddleSeg 2.8 implements NHWC for.
NHWC_MODELS = ("DeepLabV3P",)

#: Words ``--auc_roc`` takes as true / false.
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def boolean(text: str) -> bool:
    """argparse type: true/false, yes/no, on/off, 1/0 (PaddleSeg's reads 'False' as True)."""
    lowered = text.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not a boolean; expected true or false")


def add_data_format_arg(parser: argparse.ArgumentParser) -> None:
    """--data_format NCHW|NHWC."""
    parser.add_argument("--data_format", choices=DATA_FORMATS, default="NCHW",
                        help="Input layout; NHWC only for DeepLabV3P, as in PaddleSeg.")


def add_train_args(parser: argparse.ArgumentParser) -> None:
    """--data_format, --repeats and --profiler_options of PaddleSeg's ``tools/train.py``."""
    add_data_format_arg(parser)
    parser.add_argument("--repeats", type=common.positive_int, default=1,
                        help="Repeat the training samples this many times per epoch.")
    parser.add_argument("--profiler_options", type=str, default=None,
                        help="Enable Paddle's profiler with these options, e.g. "
                             "'batch_range=[10,20];profile_path=output/profile' "
                             "(paddleseg.utils.train_profiler).")


def add_test_time_args(parser: argparse.ArgumentParser, aug_flag: str,
                       default_scales: Any) -> None:
    """``aug_flag`` and the scale, flip and sliding-window flags of PaddleSeg's val/predict."""
    parser.add_argument(aug_flag, action="store_true",
                        help="Multi-scale and flip test-time augmentation.")
    parser.add_argument("--scales", nargs="+", type=common.positive_float,
                        default=default_scales,
                        help=f"Scales for {aug_flag}, e.g. --scales 0.75 1.0 1.25.")
    parser.add_argument("--flip_horizontal", action="store_true",
                        help=f"Add horizontally flipped inputs (with {aug_flag}).")
    parser.add_argument("--flip_vertical", action="store_true",
                        help=f"Add vertically flipped inputs (with {aug_flag}).")
    parser.add_argument("--is_slide", action="store_true",
                        help="Sliding-window inference (needs --crop_size and --stride).")
    parser.add_argument("--crop_size", nargs=2, type=common.positive_int, default=None,
                        metavar=("W", "H"), help="Sliding-window size, width then height.")
    parser.add_argument("--stride", nargs=2, type=common.positive_int, default=None,
                        metavar=("W", "H"), help="Sliding-window stride, width then height.")


def add_val_args(parser: argparse.ArgumentParser) -> None:
    """--data_format and --auc_roc of PaddleSeg's ``tools/val.py``."""
    add_data_format_arg(parser)
    parser.add_argument("--auc_roc", type=boolean, nargs="?", const=True, default=False,
                        help="Also report the AUC-ROC (alone or with true/false).")


def apply_data_format(dic: Dict[str, Any], data_format: str) -> None:
    """Set ``data_format`` on the model, its backbone and the losses, as PaddleSeg does.

    Raises:
        PSSLConfigError: NHWC for a model PaddleSeg implements only in NCHW.
    """
    if data_format == DATA_FORMATS[0]:
        return
    model = dic.get("model", {})
    if model.get("type") not in NHWC_MODELS:
        raise PSSLConfigError(
            f"--data_format {data_format}: PaddleSeg 2.8 implements it only for "
            f"{', '.join(NHWC_MODELS)}, this config's model is {model.get('type')!r}; "
            f"drop --data_format")
    model["data_format"] = data_format
    if isinstance(model.get("backbone"), dict):
        model["backbone"]["data_format"] = data_format
    for loss in dic.get("loss", {}).get("types", []) or []:
        loss["data_format"] = data_format


def repeat_samples(dataset: Any, repeats: int) -> None:
    """Repeat a dataset's samples ``repeats`` times, as PaddleSeg's ``--repeats`` does.

    Raises:
        PSSLConfigError: The dataset keeps no ``file_list`` to repeat.
    """
    if repeats == 1:
        return
    if not isinstance(getattr(dataset, "file_list", None), list):
        raise PSSLConfigError(f"--repeats {repeats}: {type(dataset).__name__} keeps no "
                              f"file_list to repeat; drop --repeats")
    dataset.file_list *= repeats
