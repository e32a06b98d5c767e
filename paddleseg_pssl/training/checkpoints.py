"""A PSSL checkpoint's backbone as a weights file of its own, so a fine-tune can start from the
PSSL backbone with a random head (separating what the pre-trained head adds)."""
import os

import paddle

from paddleseg_pssl.errors import PSSLConfigError
from paddleseg_pssl.weights import read_state_dict

#: Key prefix of the backbone's weights in PaddleSeg models (``self.backbone``).
BACKBONE_PREFIX = "backbone."


def write_backbone_weights(checkpoint: str, output: str) -> int:
    """Save the ``backbone.*`` weights of ``checkpoint`` (prefix removed) to ``output``, the
    layout ``model.backbone.pretrained`` loads; returns how many tensors were written."""
    if not os.path.isfile(checkpoint):
        raise PSSLConfigError(f"checkpoint {checkpoint!r} does not exist")
    state = read_state_dict(checkpoint)
    backbone = {k[len(BACKBONE_PREFIX):]: v for k, v in state.items()
                if k.startswith(BACKBONE_PREFIX)}
    if not backbone:
        raise PSSLConfigError(f"checkpoint {checkpoint!r} holds no '{BACKBONE_PREFIX}*' weights; "
                              "expected a whole segmentation model's model.pdparams")
    partial = f"{output}.partial"
    paddle.save(backbone, partial)
    os.replace(partial, output)
    return len(backbone)
