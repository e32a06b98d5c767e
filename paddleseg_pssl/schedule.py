"""Epoch-based schedules (the paper's) written as PaddleSeg iteration counts.

PaddleSeg counts iterations; the paper (arXiv 2207.03335, Sections 5.2 and 5.4) counts
epochs at a total batch size. One rounding rule, used by every config comment and by
``tools/pssl_schedule.py``: an epoch count becomes ``ceil(epochs * images / total_batch)``.
"""
import math
from dataclasses import dataclass
from typing import Sequence, Tuple

from paddleseg_pssl.constants import IMAGENET_TRAIN_IMAGES

#: Paper Section 5.2: 30 pre-training epochs, lr drop at epoch 20, total batch 64.
PRETRAIN_EPOCHS = 30
PRETRAIN_LR_DROP_EPOCHS: Tuple[int, ...] = (20,)
PRETRAIN_TOTAL_BATCH = 64


def iterations_for_epochs(epochs: float, num_images: int, total_batch: int) -> int:
    """Iterations that cover ``epochs`` passes over ``num_images`` at ``total_batch`` per step."""
    if epochs <= 0 or num_images <= 0 or total_batch <= 0:
        raise ValueError(f"epochs, num_images and total_batch must be positive, got "
                         f"{epochs}, {num_images}, {total_batch}")
    return math.ceil(epochs * num_images / total_batch)


@dataclass(frozen=True)
class Schedule:
    """A PaddleSeg schedule: per-card batch, total iterations and lr-drop milestones."""
    batch_size_per_card: int
    cards: int
    iters: int
    milestones: Tuple[int, ...]

    @property
    def total_batch(self) -> int:
        return self.batch_size_per_card * self.cards


def pretrain_schedule(cards: int, batch_size_per_card: int,
                      num_images: int = IMAGENET_TRAIN_IMAGES,
                      epochs: float = PRETRAIN_EPOCHS,
                      lr_drop_epochs: Sequence[float] = PRETRAIN_LR_DROP_EPOCHS) -> Schedule:
    """The paper's pre-training schedule for a given card count and per-card batch."""
    total = cards * batch_size_per_card
    return Schedule(batch_size_per_card=batch_size_per_card, cards=cards,
                    iters=iterations_for_epochs(epochs, num_images, total),
                    milestones=tuple(iterations_for_epochs(e, num_images, total)
                                     for e in lr_drop_epochs))
