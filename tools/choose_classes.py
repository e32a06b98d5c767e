"""Write a generation list file: each image's class = the most probable candidate."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from paddleseg_pssl.cli.choose_classes import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
