"""Score a PSSL folder against ground-truth masks: per-decile precision / recall / IoU."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from paddleseg_pssl.cli.evaluate_pssl import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
