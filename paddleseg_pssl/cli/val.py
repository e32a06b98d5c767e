"""Evaluate a checkpoint on a PaddleSeg config's val_dataset (mIoU, accuracy, kappa).

Same flags as PaddleSeg 2.8's ``tools/val.py``, plus ``--precision``/``--amp_level``; the
work is ``paddleseg.core.evaluate`` (which handles ``paddle.distributed.launch`` itself).
"""
import argparse
from typing import Any, Dict

import paddleseg_pssl  # noqa: F401  (registers components, applies compat: before paddleseg)
from paddleseg.core import evaluate
from paddleseg.cvlibs import Config
from paddleseg.utils import logger, utils

from paddleseg_pssl.cli import common
from paddleseg_pssl.training.builder import PSSLSegBuilder
from paddleseg_pssl.training.config_checks import (explain_build_errors, validate_components,
                                                   validate_paths)
from paddleseg_pssl.training.config_loading import check_checkpoint_file, load_config
from paddleseg_pssl.errors import PSSLConfigError
from paddleseg_pssl.weights import load_weights

PROG = "tools/val.py"


def build_parser() -> argparse.ArgumentParser:
    """The evaluation command line (PaddleSeg 2.8 ``tools/val.py`` flags)."""
    parser = common.parser_from_docstring(PROG, __doc__, examples=False)
    common.add_config_args(parser)
    parser.add_argument("--model_path", default=None,
                        help="Weights to evaluate: a .pdparams file or the iter_<N> directory "
                             "holding model.pdparams (default: the config's own weights).")
    common.add_test_time_args(parser, "--aug_eval", default_scales=1.0)
    common.add_precision_args(parser)
    common.add_data_format_arg(parser)
    parser.add_argument("--auc_roc", type=common.boolean, nargs="?", const=True, default=False,
                        help="Also report the AUC-ROC (alone or with true/false).")
    return parser


def merged_test_config(cfg: Config, args: argparse.Namespace) -> Dict[str, Any]:
    """The config's ``test_config`` with the command line's augmentation flags on top: as in
    PaddleSeg, flip/scale flags count only with ``--aug_eval``, window flags with ``--is_slide``."""
    test_config = cfg.test_config
    if args.aug_eval:
        test_config.update(aug_eval=True, scales=args.scales,
                           flip_horizontal=args.flip_horizontal,
                           flip_vertical=args.flip_vertical)
    if args.is_slide:
        test_config["is_slide"] = True
        for key in ("crop_size", "stride"):
            value = getattr(args, key)
            if value is not None:
                test_config[key] = value
            elif test_config.get(key) is None:
                raise PSSLConfigError(
                    f"--is_slide needs --{key} W H (or test_config.{key} in the config); "
                    f"expected e.g. --crop_size 512 512 --stride 512 512")
    return test_config


def run(args: argparse.Namespace) -> None:
    """Load and check the config and weights, then run ``paddleseg.core.evaluate``."""
    common.check_precision(args.precision, evaluate)
    cfg = load_config(args.config, args.opts)
    validate_components(cfg, sections=("model", "train_dataset", "val_dataset"))
    validate_paths(cfg, datasets=("val_dataset",))
    model_path = str(check_checkpoint_file(args.model_path)) if args.model_path else None
    test_config = merged_test_config(cfg, args)
    common.apply_data_format(cfg.dic, args.data_format)

    utils.show_env_info()
    utils.show_cfg_info(cfg)
    utils.set_device(args.device)

    with explain_build_errors(cfg, "train_dataset"):
        builder = PSSLSegBuilder(cfg)
    with explain_build_errors(cfg, "model"):
        model = builder.model
    with explain_build_errors(cfg, "val_dataset"):
        val_dataset = builder.val_dataset
    if model_path:
        load_weights(model, model_path)
        logger.info(f"Loaded weights from {model_path}")
    else:
        logger.warning("No --model_path: evaluating the weights the config itself loads")
    evaluate(model, val_dataset, num_workers=args.num_workers,
             precision=args.precision, amp_level=args.amp_level, auc_roc=args.auc_roc,
             **test_config)


main = common.command(PROG, build_parser, run)  # 0 ok, 2 bad input
