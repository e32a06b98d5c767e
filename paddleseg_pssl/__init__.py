"""paddleseg-pssl: pseudo semantic segmentation labels (PSSL) for PaddleSeg.

PSSL (Li et al., arXiv 2207.03335) pre-trains a whole segmentation model on a
classification dataset, using labels distilled from a consensus of classifier
explanations (Consensus, arXiv 2109.00707).

``import paddleseg_pssl`` is the one import point: it applies the PaddleSeg 2.8 /
Paddle 3.x compatibility fixes, teaches PaddleSeg's ``SegBuilder`` to size models from the
data, registers every component (``PSSLDataset``, ``WeightedCrossEntropyLoss``, the ResNeSt
and MiniResNet backbones) in PaddleSeg's managers, since PaddleSeg has no ``custom_imports``,
and logs one line saying so (:mod:`paddleseg_pssl.plugin`). PaddleSeg's own ``tools/*.py`` get all
of this through the import hook or runner of ``docs/paddleseg_scripts.md``.
"""
import paddleseg_pssl_autoload as _autoload
from paddleseg_pssl import runner_usage as _runner_usage

_autoload.quiet_paddle_warnings()

if not _runner_usage.is_usage_only_call():  # the runner's usage needs no Paddle
    from paddleseg_pssl import plugin as _plugin

    _plugin.activate()

    from paddleseg_pssl import datasets, losses, models  # noqa: E402,F401  (registration)
    from paddleseg.utils import logger as _logger  # noqa: E402

    _plugin.log_once(_logger.info, _logger.debug)

__version__ = "0.1.0"
