"""Fixes for the deployment path (``tools/export.py``, ``deploy/python/infer.py``) on Paddle 3.3.

* Graph file (PaddleSeg #3909, #3932): ``deploy.yaml`` names ``model.pdmodel`` but PIR saves
  ``model.json``; ``DeployConfig.model`` names the graph file saved next to it.
* Memory optimisation (PaddleCustomDevice #1619): ``Config.enable_memory_optim()`` makes
  ``create_predictor`` fail; the call is logged and ignored.
* oneDNN on CPU (Paddle #79749): ``predictor.run()`` fails on bilinear interpolation, which
  every PaddleSeg model ends with; a new ``Config`` starts with oneDNN off (``enable_mkldnn()``
  still switches it on).

One probe (about 0.1 s) saves a tiny conv + bilinear-upsampling model and tries the three.
"""
import functools
import os
import tempfile
from typing import Dict, Optional

import numpy as np
import paddle
from paddleseg.deploy.infer import DeployConfig
from paddleseg.utils import logger

from paddleseg_pssl.compat.patching import Fix, original

#: The replaced objects.
DEPLOY_MODEL = "paddleseg.deploy.infer:DeployConfig.model"
MEMORY_OPTIM = "paddle.inference:Config.enable_memory_optim"
CONFIG_INIT = "paddle.inference:Config.__init__"

#: What PaddleSeg 2.8's ``tools/export.py`` writes as ``Deploy.model``, and its file prefix.
STOCK_GRAPH_FILE = "model.pdmodel"
MODEL_PREFIX = "model"
#: Suffix of the weights ``paddle.jit.save`` writes next to the graph.
PARAMS_SUFFIX = ".pdiparams"
#: Suffixes of the graph ``paddle.jit.save`` writes: under PIR (Paddle 3), then before it.
GRAPH_SUFFIXES = (".json", ".pdmodel")

#: Probe model: input channels and side (pixels), upsampled to twice that side.
_PROBE_CHANNELS = 1
_PROBE_SIDE = 2
_PROBE_UPSAMPLE = 2


def saved_graph_file(prefix: str) -> Optional[str]:
    """The graph file ``paddle.jit.save(layer, prefix)`` wrote (``.json`` under PIR,
    ``.pdmodel`` before it), or None when there is none."""
    return next((prefix + suffix for suffix in GRAPH_SUFFIXES
                 if os.path.isfile(prefix + suffix)), None)


class _ProbeNet(paddle.nn.Layer):
    """A convolution then bilinear upsampling to a given size, as PaddleSeg heads end."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = paddle.nn.Conv2D(_PROBE_CHANNELS, _PROBE_CHANNELS, 1)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        side = _PROBE_SIDE * _PROBE_UPSAMPLE
        return paddle.nn.functional.interpolate(self.conv(x), size=[side, side],
                                                mode="bilinear")


def _predictor_fails(graph: str, params: str, *, memory_optim: bool, onednn: bool) -> bool:
    """True when a stock CPU predictor of ``graph`` with these switches cannot be built or run."""
    config = paddle.inference.Config(graph, params)
    config.disable_glog_info()
    config.disable_gpu()
    if memory_optim:
        original(MEMORY_OPTIM)(config)
    if onednn:
        config.enable_mkldnn()
    else:
        config.disable_mkldnn()
    try:
        predictor = paddle.inference.create_predictor(config)
        handle = predictor.get_input_handle(predictor.get_input_names()[0])
        handle.copy_from_cpu(np.zeros([1, _PROBE_CHANNELS, _PROBE_SIDE, _PROBE_SIDE],
                                      dtype="float32"))
        predictor.run()
    except Exception:  # noqa: BLE001 - any failure is what the probe detects
        return True
    return False


def _stock_model_path(folder: str) -> str:
    """What the stock ``DeployConfig.model`` returns for the ``deploy.yaml`` PaddleSeg writes."""
    config = DeployConfig.__new__(DeployConfig)
    config.dic, config._dir = {"Deploy": {"model": STOCK_GRAPH_FILE}}, folder
    return original(DEPLOY_MODEL).fget(config)


@functools.lru_cache(maxsize=None)
def probe() -> Dict[str, bool]:
    """Which of the three failures this stack shows, by fix name (saves one tiny model)."""
    with tempfile.TemporaryDirectory() as folder:
        prefix = os.path.join(folder, MODEL_PREFIX)
        spec = [paddle.static.InputSpec([None, _PROBE_CHANNELS, None, None], "float32")]
        net = _ProbeNet()
        net.eval()
        paddle.jit.save(paddle.jit.to_static(net, input_spec=spec, full_graph=True), prefix)
        graph, params = saved_graph_file(prefix), prefix + PARAMS_SUFFIX
        return {
            GRAPH_FIX_NAME: not os.path.exists(_stock_model_path(folder)),
            MEMORY_FIX_NAME: (_predictor_fails(graph, params, memory_optim=True, onednn=False)
                              and not _predictor_fails(graph, params, memory_optim=False,
                                                       onednn=False)),
            ONEDNN_FIX_NAME: (_predictor_fails(graph, params, memory_optim=False, onednn=True)
                              and not _predictor_fails(graph, params, memory_optim=False,
                                                       onednn=False)),
        }


def _model_path(self) -> str:
    """``Deploy.model`` joined to the folder, or the graph Paddle saved there if it is missing."""
    path = original(DEPLOY_MODEL).fget(self)
    if os.path.exists(path):
        return path
    return saved_graph_file(os.path.splitext(path)[0]) or path


class _FixedProperty(property):
    """A property that can carry the compat marker (``property`` objects take no attributes)."""


def enable_memory_optim(self, x: bool = True) -> None:
    """Stock ``Config.enable_memory_optim`` left undone: on this Paddle it breaks the predictor."""
    if x:
        logger.warning("paddleseg_pssl: Config.enable_memory_optim() ignored: on this Paddle "
                       "it makes create_predictor fail (memory_optimize_pass)")


def config_init(self, *args, **kwargs) -> None:
    """Stock ``Config.__init__``, then oneDNN off unless the config is a copy of another."""
    original(CONFIG_INIT)(self, *args, **kwargs)
    if not (args and isinstance(args[0], type(self))):
        self.disable_mkldnn()


GRAPH_FIX_NAME = "deploy.DeployConfig.model:saved-graph-file"
MEMORY_FIX_NAME = "inference.Config.enable_memory_optim:left-off"
ONEDNN_FIX_NAME = "inference.Config:onednn-off-by-default"

GRAPH_FIX = Fix(name=GRAPH_FIX_NAME, upstream="PaddleSeg #3909, #3932",
                is_needed=lambda: probe()[GRAPH_FIX_NAME],
                patches={DEPLOY_MODEL: _FixedProperty(_model_path)})
MEMORY_FIX = Fix(name=MEMORY_FIX_NAME, upstream="PaddleCustomDevice #1619",
                 is_needed=lambda: probe()[MEMORY_FIX_NAME],
                 patches={MEMORY_OPTIM: enable_memory_optim})
ONEDNN_FIX = Fix(name=ONEDNN_FIX_NAME, upstream="Paddle #79749",
                 is_needed=lambda: probe()[ONEDNN_FIX_NAME],
                 patches={CONFIG_INIT: config_init})
