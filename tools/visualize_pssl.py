"""Draw PSSL labels as in the paper's Figure 2: image, explanations, consensus, deciles, label."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from paddleseg_pssl.cli.visualize_pssl import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
