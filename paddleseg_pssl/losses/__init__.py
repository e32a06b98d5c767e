"""Loss components registered in PaddleSeg's ``manager.LOSSES``."""
from paddleseg_pssl.losses.weighted_cross_entropy import WeightedCrossEntropyLoss  # noqa: F401
