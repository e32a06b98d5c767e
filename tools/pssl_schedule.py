"""Print the PSSL pre-training schedule (iters, lr milestones) for your cards and batch."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from paddleseg_pssl.cli.pssl_schedule import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
