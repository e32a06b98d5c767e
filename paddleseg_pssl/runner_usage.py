"""The runner's usage line, and how to tell a call that only asks for it: apart from
:mod:`paddleseg_pssl.run` so ``import paddleseg_pssl`` can ask before it loads Paddle."""
import sys
from typing import Optional, Sequence

PROG = "python -m paddleseg_pssl.run"
USAGE = f"usage: {PROG} SCRIPT [ARGS...]  (SCRIPT: e.g. PaddleSeg's tools/train.py)"

#: How the runner is started, and the arguments that only ask for its usage.
RUNNER_COMMAND = ("-m", "paddleseg_pssl.run")
USAGE_ONLY_ARGS = ((), ("-h",), ("--help",))


def is_usage_only_call(orig_argv: Optional[Sequence[str]] = None) -> bool:
    """True for ``python -m paddleseg_pssl.run`` with no script (or -h): usage only, no Paddle."""
    argv = list(getattr(sys, "orig_argv", []) if orig_argv is None else orig_argv)
    width = len(RUNNER_COMMAND)
    for start in range(len(argv) - width + 1):
        if tuple(argv[start:start + width]) == RUNNER_COMMAND:
            return tuple(argv[start + width:]) in USAGE_ONLY_ARGS
    return False
