"""The paper's Table 2 in miniature on a ``tools/demo.py`` world (pre-training size, length, labels)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from paddleseg_pssl.cli.pssl_study import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
