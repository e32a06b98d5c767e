"""The size of a PSSL label for an image: the explanation resolution the generator uses.

Short side ``short_side``, aspect kept, but the long side capped at ``max_long_side`` (default
``MAX_ASPECT * short_side``) and no side below ``MIN_SIDE``: only beyond 28:1 (by default) is the
aspect compressed, so a 1x10000 strip becomes 32 x 896.
"""
from typing import Optional, Tuple

#: The smallest side given to a classifier (five stride-2 stages leave a 1x1 feature map).
MIN_SIDE: int = 32

#: Aspect ratio kept exactly; beyond it the long side is capped (see the module docstring).
MAX_ASPECT: float = 4.0


def explanation_size(height: int, width: int, short_side: int,
                     max_long_side: Optional[int] = None) -> Tuple[int, int]:
    """(H, W) of the explanation resolution for an image of ``height`` x ``width``, e.g.
    375x500 -> 224x299; 1x10000 -> 32x896; 1x1 -> 224x224."""
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
