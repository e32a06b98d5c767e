"""A PSSL checkpoint's backbone as a weights file of its own.

A PSSL checkpoint (arXiv 2207.03335) pre-trains the backbone and the head together; writing
its backbone alone lets a fine-tune start from the PSSL backbone with a random head, which
separates what the pre-trained head adds from what the pre-trained backbone adds.
"""
import os

from paddleseg_pssl.errors import PSSLConfigError
from paddleseg_pssl.weights import read_state_dict

#: Key prefix of the backbone's weights in PaddleSeg models (``self.backbone``).
BACKBONE_PREFIX = "backbone."


def write_backbone_weights(checkpoint: str, output: str) -> int:
    """Save the ``backbone.*`` weights of ``checkpoint`` (prefix removed) to ``output``, the
    layout ``model.backbone.pretrained`` loads; returns how many tensors were written.

    Raises:
        PSSLConfigError: the checkpoint is missing or holds no ``backbone.*`` weights.
    """
    import paddle

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
