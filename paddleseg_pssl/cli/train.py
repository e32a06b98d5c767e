"""Train any PaddleSeg config with the PSSL components registered (arXiv 2207.03335).

Same flags as PaddleSeg 2.8's ``tools/train.py``; the work is ``paddleseg.core.train``, which
initialises the collective environment itself under ``paddle.distributed.launch``.
"""
import argparse

import paddleseg_pssl  # noqa: F401  (registers components, applies compat: before paddleseg)
from paddleseg.core import train
from paddleseg.utils import utils

from paddleseg_pssl.cli import common
from paddleseg_pssl.training.builder import PSSLSegBuilder
from paddleseg_pssl.training.config_checks import (explain_build_errors, validate_components,
                                                   validate_paths)
from paddleseg_pssl.training.config_loading import check_resume_dir, load_config

PROG = "tools/train.py"


def build_parser() -> argparse.ArgumentParser:
    """The training command line (PaddleSeg 2.8 ``tools/train.py`` flags)."""
    parser = common.parser_from_docstring(PROG, __doc__, examples=False)
    common.add_config_args(parser)
    parser.add_argument("--save_dir", default="./output",
                        help="Where checkpoints (iter_<N>/model.pdparams) and logs go.")
    parser.add_argument("--iters", type=common.positive_int,
                        help="Training iterations (overrides the config's iters).")
    parser.add_argument("--batch_size", type=common.positive_int,
                        help="Batch size per device (overrides the config's batch_size).")
    parser.add_argument("--learning_rate", type=common.positive_float,
                        help="Overrides lr_scheduler.learning_rate.")
    parser.add_argument("--do_eval", action="store_true",
                        help="Evaluate on val_dataset at every save.")
    parser.add_argument("--use_vdl", action="store_true", help="Log to VisualDL.")
    parser.add_argument("--use_ema", action="store_true",
                        help="Keep an exponential moving average of the weights.")
    parser.add_argument("--seed", type=int, default=None, help="Random seed (Paddle, NumPy).")
    common.add_precision_args(parser)
    parser.add_argument("--resume_model", default=None,
                        help="Checkpoint directory to resume from, e.g. output/iter_1000.")
    parser.add_argument("--save_interval", type=common.positive_int, default=1000,
                        help="Save (and evaluate with --do_eval) every this many iterations.")
    parser.add_argument("--log_iters", type=common.positive_int, default=10,
                        help="Log every this many iterations.")
    parser.add_argument("--keep_checkpoint_max", type=common.positive_int, default=5,
                        help="Checkpoints kept on disk.")
    common.add_data_format_arg(parser)
    parser.add_argument("--repeats", type=common.positive_int, default=1,
                        help="Repeat the training samples this many times per epoch.")
    parser.add_argument("--profiler_options", type=str, default=None,
                        help="Enable Paddle's profiler with these options, e.g. "
                             "'batch_range=[10,20];profile_path=output/profile' "
                             "(paddleseg.utils.train_profiler).")
    return parser


def run(args: argparse.Namespace) -> None:
    """Load and check the config, then hand everything to ``paddleseg.core.train``."""
    common.check_precision(args.precision, train)
    cfg = load_config(args.config, args.opts, learning_rate=args.learning_rate,
                      batch_size=args.batch_size, iters=args.iters)
    validate_components(cfg)
    validate_paths(cfg, datasets=("train_dataset", "val_dataset") if args.do_eval
                   else ("train_dataset",))
    resume_model = str(check_resume_dir(args.resume_model)) if args.resume_model else None
    common.apply_data_format(cfg.dic, args.data_format)

    utils.show_env_info()
    utils.show_cfg_info(cfg)
    utils.set_seed(args.seed)
    utils.set_device(args.device)
    utils.set_cv2_num_threads(args.num_workers)

    with explain_build_errors(cfg, "train_dataset"):
        builder = PSSLSegBuilder(cfg)
    with explain_build_errors(cfg, "model"):
        model = utils.convert_sync_batchnorm(builder.model, args.device)
    with explain_build_errors(cfg, "train_dataset"):
        train_dataset = builder.train_dataset
    common.repeat_samples(train_dataset, args.repeats)
    with explain_build_errors(cfg, "val_dataset"):
        val_dataset = builder.val_dataset if args.do_eval else None
    with explain_build_errors(cfg, "optimizer"):
        optimizer = builder.optimizer
    with explain_build_errors(cfg, "loss"):
        losses = builder.loss
    train(model, train_dataset, val_dataset=val_dataset, optimizer=optimizer,
          save_dir=args.save_dir, iters=cfg.iters, batch_size=cfg.batch_size,
          resume_model=resume_model, save_interval=args.save_interval, log_iters=args.log_iters,
          num_workers=args.num_workers, use_vdl=args.use_vdl, use_ema=args.use_ema, losses=losses,
          keep_checkpoint_max=args.keep_checkpoint_max, test_config=cfg.test_config,
          precision=args.precision, amp_level=args.amp_level,
          profiler_options=args.profiler_options, to_static_training=cfg.to_static_training)


main = common.command(PROG, build_parser, run)  # 0 ok, 2 bad input, 4 a bad sample
