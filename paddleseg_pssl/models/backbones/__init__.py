"""Backbones registered in PaddleSeg's ``manager.BACKBONES`` on import: ResNeSt50/101/200/269
(:mod:`.resnest`) and ``MiniResNet``, the miniature demo's (:mod:`.mini_resnet`)."""
from paddleseg_pssl.models.backbones.mini_resnet import MiniResNet, MiniResNetBackbone  # noqa: F401
from paddleseg_pssl.models.backbones.resnest import (  # noqa: F401  (registration)
    RESNEST_SPECS, ResNeSt, ResNeSt50, ResNeSt101, ResNeSt200, ResNeSt269)
from paddleseg_pssl.models.backbones.resnest_weights import (  # noqa: F401
    convert_paddleclas_resnest_state_dict, load_resnest_pretrained)
