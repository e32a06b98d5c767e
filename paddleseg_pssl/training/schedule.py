"""The paper's epoch schedules (arXiv 2207.03335, Sections 5.2, 5.4) as PaddleSeg iterations:
one rounding rule everywhere, ``ceil(epochs * images / total_batch)``."""
import math
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from paddleseg_pssl.constants import IMAGENET_TRAIN_IMAGES
from paddleseg_pssl.errors import PSSLConfigError

#: Paper Section 5.2: 30 pre-training epochs, lr drop at epoch 20, total batch 64.
PRETRAIN_EPOCHS = 30
PRETRAIN_LR_DROP_EPOCHS: Tuple[int, ...] = (20,)


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


#: Config key stating the total batch (per-card batch x processes) a config's iterations are
#: computed for; ``tools/compare_init.py`` reads it (PaddleSeg's Config ignores it).
TOTAL_BATCH_KEY = "total_batch_size"


class BatchMismatchError(PSSLConfigError):
    """A run's total batch differs from the one its config's iterations are computed for."""


def rescale_iters(iters: int, from_total_batch: int, to_total_batch: int) -> int:
    """Iterations at ``to_total_batch`` covering the epochs ``iters`` covers at
    ``from_total_batch`` (rounded up, as :func:`iterations_for_epochs`)."""
    if min(iters, from_total_batch, to_total_batch) <= 0:
        raise ValueError(f"iters and batch sizes must be positive, got {iters}, "
                         f"{from_total_batch}, {to_total_batch}")
    return math.ceil(iters * from_total_batch / to_total_batch)


@dataclass(frozen=True)
class BatchPlan:
    """What a fine-tune runs with; ``intended_total`` is the config's ``total_batch_size``
    (None: not stated), ``rescaled_from`` its iterations when rescaled to keep its epochs."""
    batch_size_per_card: int
    processes: int
    iters: int
    intended_total: Optional[int]
    rescaled_from: Optional[int] = None

    @property
    def total_batch(self) -> int:
        return self.batch_size_per_card * self.processes


def plan_batch(config: str, cfg: Mapping[str, Any], processes: int,
               batch_size: Optional[int] = None, iters: Optional[int] = None
               ) -> Tuple[BatchPlan, List[str]]:
    """The batch and iterations of a run, and the warnings to show, from a merged config.

    When the run's total batch differs from the config's ``total_batch_size``: an error without
    an explicit ``batch_size`` (the iterations would silently cover other epochs); with one, the
    iterations are rescaled to the same epochs unless ``iters`` is given.
    """
    per_card = batch_size or int(cfg["batch_size"])
    config_iters = int(cfg["iters"])
    intended = cfg.get(TOTAL_BATCH_KEY)
    total = per_card * processes
    warnings: List[str] = []
    if intended is None:
        warnings.append(f"config {config!r} states no {TOTAL_BATCH_KEY}; running total batch "
                        f"{per_card} x {processes} process(es) = {total} for its {config_iters} "
                        "iterations")
        return BatchPlan(per_card, processes, iters or config_iters, None), warnings
    intended = int(intended)
    if total == intended:
        return BatchPlan(per_card, processes, iters or config_iters, intended), warnings
    if batch_size is None:
        per_card_needed = intended / processes
        raise BatchMismatchError(
            f"config {config!r} is meant for total batch {intended} "
            f"({TOTAL_BATCH_KEY}) but this run would use {per_card} x {processes} process(es) = "
            f"{total}, a {total / intended:.2g}x change of its epochs; run "
            f"{intended // per_card} processes (processes), or pass batch_size"
            f"{f' {per_card_needed:g}' if per_card_needed.is_integer() else ''} to accept it "
            f"(iterations are then rescaled to the same epochs)", ["processes", "batch_size"])
    if iters is not None:
        warnings.append(
            f"WARNING: total batch {total} instead of the config's {intended}, and iters "
            f"{iters} given: the epochs differ from the config's by "
            f"{iters * total / (config_iters * intended):.2f}x")
        return BatchPlan(per_card, processes, iters, intended), warnings
    rescaled = rescale_iters(config_iters, intended, total)
    warnings.append(f"WARNING: total batch {total} instead of the config's {intended}: "
                    f"iterations rescaled {config_iters} -> {rescaled} (same epochs); "
                    "results may differ from the config's batch")
    return BatchPlan(per_card, processes, rescaled, intended, config_iters), warnings
