"""paddleseg-pssl: pseudo semantic segmentation labels (PSSL, arXiv 2207.03335) for PaddleSeg.

``import paddleseg_pssl`` is the one import point: it applies the fixes of
:mod:`paddleseg_pssl.plugin`, registers every component in PaddleSeg's managers (PaddleSeg has
no ``custom_imports``) and logs one line saying so.
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
