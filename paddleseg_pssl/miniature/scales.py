"""How big ``tools/demo.py``'s miniature world is: its scales, by name."""
import dataclasses
from typing import Dict, Optional, Sequence


@dataclasses.dataclass(frozen=True)
class DemoScale:
    """How big the miniature is: ``full`` is ``make demo``, ``quick`` the end-to-end test,
    ``study`` the world of ``tools/pssl_study.py``, ``large`` five classifiers (docs/results.md).

    ``ensemble_members``: how many of ``DEFAULT_MEMBERS`` (in order; None = all) explain;
    ``pretrain_processes``: processes the pre-training batch is split over (None = one per
    CPU); ``finetune_lrs``: initial learning rates searched per init. Shorter pre-training than
    ``pretrain_iters`` loses to the conventional init (docs/results.md).
    """
    num_classes: int
    images_per_class: int
    val_per_class: int
    labelled_per_class: int
    seg_train: int
    seg_val: int
    classifier_epochs: Optional[int]
    n_samples: int
    pretrain_iters: int
    finetune_iters: int
    seeds: Sequence[int]
    finetune_lrs: Sequence[float]
    finetune_inits: Sequence[str] = ("backbone", "pssl")
    explanation_short_side: int = 64
    ensemble_members: Optional[int] = None
    pretrain_processes: Optional[int] = None


_LARGE = DemoScale(num_classes=10, images_per_class=150, val_per_class=20,
                   labelled_per_class=60, seg_train=80, seg_val=50, classifier_epochs=None,
                   n_samples=20, pretrain_iters=800, finetune_iters=200, seeds=(0, 1, 2),
                   finetune_lrs=(0.5, 0.2, 0.1))
#: make demo, sized for its 15 minutes on 2 CPU cores: two members (the backbone's and the best
#: explainer of the demo's images) trained 10 epochs, 40 images labelled per class with 5 noise
#: samples (4x cheaper than 20; D9 precision 0.01 lower on the demo's images), pre-trained long
#: enough to pay off (1875 iterations: 75 epochs of its 400 images), fine-tunes of 100
#: iterations at the two rates that every init and study point chose (0.05 never won;
#: docs/results.md). Its run time: README, "The miniature".
_FULL = dataclasses.replace(_LARGE, labelled_per_class=40, classifier_epochs=10,
                            ensemble_members=2, n_samples=5, pretrain_iters=1875,
                            finetune_iters=100, finetune_lrs=(0.2, 0.1))
SCALES: Dict[str, DemoScale] = {
    "full": _FULL,
    # every classification image labelled: the world of tools/pssl_study.py's tables
    "study": dataclasses.replace(_FULL, labelled_per_class=_FULL.images_per_class,
                                 classifier_epochs=None, ensemble_members=3,
                                 pretrain_processes=1, finetune_iters=120,
                                 finetune_lrs=(0.2, 0.1, 0.05)),
    "large": _LARGE,
    "quick": DemoScale(num_classes=10, images_per_class=8, val_per_class=2,
                       labelled_per_class=3, seg_train=8, seg_val=4, classifier_epochs=1,
                       n_samples=2, pretrain_iters=4, finetune_iters=4, seeds=(0,),
                       finetune_lrs=(0.05, 0.02)),
}
