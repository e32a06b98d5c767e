"""Launcher for ``paddleseg_pssl.cli.generate`` that also runs from a plain clone (no install).

    python tools/generate_pssl.py --config configs/pssl/generate/imagenet_15_models.yml
    python -m paddle.distributed.launch --nproc_per_node 2 tools/generate_pssl.py --config ...
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from paddleseg_pssl.cli.generate import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
