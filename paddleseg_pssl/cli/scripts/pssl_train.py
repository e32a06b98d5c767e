"""``paddleseg_pssl.cli.train`` as a file, for ``paddle.distributed.launch`` (installed or not)."""
import pathlib
import sys

if __name__ == "__main__":
    # The folder holding the package (site-packages, or a clone's root).
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3]))
    from paddleseg_pssl.cli.train import main  # here: after the path is set
    raise SystemExit(main())
