"""Print the PSSL pre-training schedule (iters, lr milestones) for your cards and batch.

    python tools/pssl_schedule.py --cards 4 --batch_size 16 [--images 1281167] [--epochs 30]

The output is ready for --opts: iters=... lr_scheduler.milestones=[...] batch_size=...
A continuation (Table 4: 30 -> 60 epochs) also prints the checkpoint to resume from:

    python tools/pssl_schedule.py --epochs 60 --continue_from_epochs 30 \\
        --save_dir output/pssl_pspnet_r50
"""
import argparse

from paddleseg_pssl.cli import common
from paddleseg_pssl.constants import IMAGENET_TRAIN_IMAGES
from paddleseg_pssl.training.schedule import (PRETRAIN_EPOCHS, PRETRAIN_LR_DROP_EPOCHS,
                                              pretrain_schedule)

PROG = "tools/pssl_schedule.py"
#: The paper's 8 cards x 8 images per card (total batch 64, Section 5.2).
DEFAULT_CARDS = 8
DEFAULT_BATCH_PER_CARD = 8
DEFAULT_SAVE_DIR = "output/pssl_model"


def build_parser() -> argparse.ArgumentParser:
    """The schedule's flags: cards, per-card batch, images, epochs, lr drops, continuation."""
    parser = common.parser_from_docstring(PROG, __doc__)
    parser.add_argument("--cards", type=common.positive_int, default=DEFAULT_CARDS)
    parser.add_argument("--batch_size", type=common.positive_int,
                        default=DEFAULT_BATCH_PER_CARD, help="per card")
    parser.add_argument("--images", type=common.positive_int, default=IMAGENET_TRAIN_IMAGES)
    parser.add_argument("--epochs", type=common.positive_float, default=PRETRAIN_EPOCHS)
    parser.add_argument("--lr_drop_epochs", type=common.positive_float, nargs="+",
                        default=list(PRETRAIN_LR_DROP_EPOCHS))
    parser.add_argument("--continue_from_epochs", type=common.positive_float,
                        help="resume a run trained for this many epochs (same cards and batch)")
    parser.add_argument("--save_dir", default=DEFAULT_SAVE_DIR,
                        help="where the run being continued saved its iter_<N> checkpoints")
    return parser


def run(args: argparse.Namespace) -> None:
    """Print the schedule as --opts, and the checkpoint a continuation resumes from."""
    schedule = pretrain_schedule(args.cards, args.batch_size, args.images, args.epochs,
                                 args.lr_drop_epochs)
    milestones = ",".join(str(m) for m in schedule.milestones)
    print(f"total batch {schedule.total_batch} = {args.batch_size} x {args.cards} cards")
    print(f"--opts batch_size={args.batch_size} iters={schedule.iters} "
          f"lr_scheduler.milestones=[{milestones}]")
    if args.continue_from_epochs is not None:
        start = pretrain_schedule(args.cards, args.batch_size, args.images,
                                  args.continue_from_epochs, args.lr_drop_epochs)
        print(f"continue {args.continue_from_epochs:g} -> {args.epochs:g} epochs: "
              f"--resume_model {args.save_dir}/iter_{start.iters} (iterations {start.iters} -> "
              f"{schedule.iters}; the optimizer state, lr included, comes from the checkpoint)")


main = common.command(PROG, build_parser, run)  # 0 ok, 2 bad input
