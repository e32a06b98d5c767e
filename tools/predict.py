"""Segment images into every pre-training class + background (PSSL paper, Figure 3 / 6.2)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from paddleseg_pssl.cli.predict import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
