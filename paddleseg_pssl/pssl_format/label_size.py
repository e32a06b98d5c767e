"""The size of a PSSL label for an image: the explanation resolution the generator uses.

Short side ``short_side`` (224 by default), aspect kept, nothing cropped.

Extreme aspect policy: the long side is capped at ``max_long_side`` (default
``MAX_ASPECT * short_side`` = 896 for short side 224) and no side goes below ``MIN_SIDE``. An
image up to ``MAX_ASPECT``:1 gets short side ``short_side``; a longer one gets long side
``max_long_side`` with its aspect still kept (short side below ``short_side``); only beyond
``max_long_side / MIN_SIDE`` (28:1 by default) is the aspect compressed, so a 1x10000 strip
becomes 32 x 896 and still yields a valid map.
"""
from typing import Optional, Tuple

#: The smallest side given to a classifier (five stride-2 stages leave a 1x1 feature map).
MIN_SIDE: int = 32

#: Aspect ratio kept exactly; beyond it the long side is capped (see the module docstring).
MAX_ASPECT: float = 4.0


def explanation_size(height: int, width: int, short_side: int,
                     max_long_side: Optional[int] = None) -> Tuple[int, int]:
    """(H, W) of the explanation resolution for an image of ``height`` x ``width``.

    Short side ``short_side``, aspect kept, long side at most ``max_long_side`` (default
    ``MAX_ASPECT * short_side``), no side below ``MIN_SIDE`` (see the module docstring).
    Example: 375x500 -> 224x299; 1x10000 -> 32x896; 1x1 -> 224x224.
    """
    if height < 1 or width < 1:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    if short_side < MIN_SIDE:
        raise ValueError(f"short_side must be >= {MIN_SIDE}, got {short_side}")
    cap = int(max_long_side if max_long_side is not None else round(MAX_ASPECT * short_side))
    if cap < short_side:
        raise ValueError(f"max_long_side ({cap}) must be >= short_side ({short_side})")
    short, long_ = (height, width) if height <= width else (width, height)
    new_short = short_side
    new_long = max(short_side, int(round(long_ * short_side / short)))
    if new_long > cap:
        new_long = cap
        new_short = max(MIN_SIDE, min(short_side, int(round(short * cap / long_))))
    return (new_short, new_long) if height <= width else (new_long, new_short)
