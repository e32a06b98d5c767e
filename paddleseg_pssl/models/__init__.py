"""Model components (backbones) registered in PaddleSeg managers."""
from paddleseg_pssl.models import backbones  # noqa: F401
