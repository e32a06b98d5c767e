"""``paddleseg_pssl.cli.train`` as a file, for ``paddle.distributed.launch`` (installed or not)."""
import pathlib
import sys

#: The folder holding the ``paddleseg_pssl`` package (site-packages, or a clone's root).
PACKAGE_PARENT = pathlib.Path(__file__).resolve().parents[3]

if __name__ == "__main__":
    sys.path.insert(0, str(PACKAGE_PARENT))
    from paddleseg_pssl.cli.train import main

    raise SystemExit(main())
