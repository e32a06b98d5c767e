"""Top-1 / top-5 accuracy of a segmentation model used as a classifier (PSSL paper, 6.1)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from paddleseg_pssl.cli.classify_eval import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
