"""Fine-tune one config from conventional and PSSL init, same seeds; print a Table-3 table."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from paddleseg_pssl.cli.compare_init import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
