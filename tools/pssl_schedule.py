"""Print the PSSL pre-training schedule (iters, lr milestones) for your cards and batch.

    python tools/pssl_schedule.py --cards 4 --batch_size 16 [--images 1281167] [--epochs 30]
The output is ready for --opts: iters=... lr_scheduler.milestones=[...] batch_size=...
A continuation (Table 4: 30 -> 60 epochs) also prints the checkpoint to resume from:
    python tools/pssl_schedule.py --epochs 60 --continue_from_epochs 30 --save_dir output/pssl_pspnet_r50
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from paddleseg_pssl.constants import IMAGENET_TRAIN_IMAGES  # noqa: E402
from paddleseg_pssl.training.schedule import (PRETRAIN_EPOCHS, PRETRAIN_LR_DROP_EPOCHS,  # noqa: E402
                                     pretrain_schedule)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=8)
    parser.add_argument("--batch_size", type=int, default=8, help="per card")
    parser.add_argument("--images", type=int, default=IMAGENET_TRAIN_IMAGES)
    parser.add_argument("--epochs", type=float, default=PRETRAIN_EPOCHS)
    parser.add_argument("--lr_drop_epochs", type=float, nargs="+",
                        default=list(PRETRAIN_LR_DROP_EPOCHS))
    parser.add_argument("--continue_from_epochs", type=float,
                        help="resume a run trained for this many epochs (same cards and batch)")
    parser.add_argument("--save_dir", default="output/pssl_model",
                        help="where the run being continued saved its iter_<N> checkpoints")
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
