"""Launcher for ``paddleseg_pssl.run``: run one of PaddleSeg's own scripts with the plugin.

A file path, so ``paddle.distributed.launch`` can start it (it runs scripts, not modules)::

    python -m paddle.distributed.launch --nproc_per_node 2 tools/paddleseg_run.py \\
        PaddleSeg/tools/train.py --config configs/pssl/pspnet_r50.yml
"""
import pathlib
import sys

sys.path[0] = str(pathlib.Path(__file__).resolve().parent.parent)

from paddleseg_pssl.run import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
