"""Run one of PaddleSeg's own scripts (``tools/train.py``...) with paddleseg-pssl loaded.

The explicit alternative to the start-up hook; an error for the user ends it in one stderr
line and our tools' status (2 bad input, 4 a bad sample)::

    python -m paddleseg_pssl.run PaddleSeg/tools/train.py --config configs/pssl/pspnet_r50.yml
    python -m paddle.distributed.launch --nproc_per_node 2 tools/paddleseg_run.py \\
        PaddleSeg/tools/train.py --config ...
"""
import os
import runpy
import sys
from typing import Optional, Sequence

from paddleseg_pssl.runner_usage import PROG, USAGE


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``argv[0]`` as ``__main__`` with ``argv[1:]``; returns its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        sys.stderr.write(USAGE + "\n")
        return 2
    if argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE + "\n\n" + __doc__ + "\n")
        return 0
    script = argv[0]
    if not os.path.isfile(script):
        sys.stderr.write(f"{PROG}: error: script {script!r} is not a file; expected a path to "
                         f"a Python script such as PaddleSeg/tools/train.py\n")
        return 2
    from paddleseg_pssl import plugin  # here: the usage alone must not load Paddle
    from paddleseg_pssl.user_errors import report_error  # here: it imports Paddle
    plugin.use_one_line_errors(script)
    sys.argv = [script, *argv[1:]]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except Exception as exc:  # noqa: BLE001 - only errors for the user become one line
        error = plugin.user_error_in(exc)
        if error is None:
            raise
        return report_error(script, error)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
