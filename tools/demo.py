"""The whole PSSL pipeline in miniature on a CPU with no downloads (``make demo``)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from paddleseg_pssl.cli.demo import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
