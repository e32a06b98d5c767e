"""Placeholder: PaddleSeg 2.8.0 on Paddle 3.x compatibility fixes (being written)."""


def apply() -> None:
    """Apply every fix (none yet)."""
