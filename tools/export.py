"""Export a PSSL or fine-tuned checkpoint as a Paddle inference model."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from paddleseg_pssl.cli.export import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
