"""Launcher for ``paddleseg_pssl.cli.val`` that also runs from a plain clone (no install).

    python tools/val.py --help
    python -m paddle.distributed.launch --nproc_per_node 2 tools/val.py --config ...
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from paddleseg_pssl.cli.val import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
