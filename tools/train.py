"""Launcher for ``paddleseg_pssl.cli.train`` that also runs from a plain clone (no install).

    python tools/train.py --help
    python -m paddle.distributed.launch --nproc_per_node 2 tools/train.py --config ...
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from paddleseg_pssl.cli.train import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
