"""Argument helpers shared by the paddleseg-pssl command lines (PSSL, arXiv 2207.03335).

The flags keep the names and meanings of PaddleSeg 2.8's ``tools/train.py`` and ``tools/val.py``,
except that ``--device`` defaults to the device Paddle was built for and that bad input ends in
one stderr line and a documented exit status (:func:`run_guarded`).
"""
import argparse
import inspect
import sys
from typing import Any, Callable, Mapping, Optional, Sequence

import paddle

from paddleseg_pssl.errors import EXIT_INTERRUPTED, PSSLConfigError
from paddleseg_pssl.user_errors import USER_ERRORS, report_error

#: Devices ``paddleseg.utils.utils.set_device`` knows (it falls back to CPU for the rest).
DEVICES: Sequence[str] = ("cpu", "gpu", "xpu", "npu", "mlu")

#: Mixed-precision levels of ``paddle.amp`` that PaddleSeg passes through.
AMP_LEVELS: Sequence[str] = ("O1", "O2")

#: Precisions offered on the command line; see :func:`check_precision` for what runs.
PRECISIONS: Sequence[str] = ("fp32", "fp16", "bf16")


def default_device() -> str:
    """``gpu`` when Paddle is compiled with CUDA, else ``cpu`` (PaddleSeg always says gpu)."""
    return "gpu" if paddle.is_compiled_with_cuda() else "cpu"


def _number_type(convert: Callable[[str], Any], kind: str, example: str, strict: bool
                 ) -> Callable[[str], Any]:
    """An argparse type: ``convert(text)``, > 0 (``strict``) or >= 0, else an error naming it."""
    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {kind}; expected e.g. {example}") from None
        if value < 0 or (strict and not value > 0):
            raise argparse.ArgumentTypeError(
                f"{value} is {'not positive' if strict else 'negative'}; expected {kind} "
                f"{'>' if strict else '>='} 0")
        return value
    return parse


positive_int: Callable[[str], int] = _number_type(int, "an integer", "1000", strict=True)
non_negative_int: Callable[[str], int] = _number_type(int, "an integer", "0", strict=False)
positive_float: Callable[[str], float] = _number_type(float, "a number", "0.01", strict=True)


def parser_from_docstring(prog: str, doc: str, *, examples: bool = True
                          ) -> argparse.ArgumentParser:
    """A parser described by a tool's docstring: its first paragraph, and (``examples``) the
    rest as the help's epilog, line breaks kept."""
    summary, _, rest = doc.partition("\n\n")
    if not examples:
        return argparse.ArgumentParser(prog=prog, description=summary)
    return argparse.ArgumentParser(prog=prog, description=summary, epilog=rest,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def add_required_args(parser: argparse.ArgumentParser, helps: Mapping[str, str]) -> None:
    """One required string flag ``--<name>`` per ``name: help`` entry, in order."""
    for name, text in helps.items():
        parser.add_argument(f"--{name}", required=True, help=text)


def add_names_arg(parser: argparse.ArgumentParser) -> None:
    """--names: readable class names for figures whose class list holds ids (WordNet ids)."""
    parser.add_argument("--names", default=None, metavar="FILE",
                        help="Readable class names for the figures: '<id> <name>' lines "
                             "(ImageNet's LOC_synset_mapping.txt) or one name per class in "
                             "class-id order (a names.txt beside synsets.txt). Default: the "
                             "names in the class list, else the ids.")


def add_config_args(parser: argparse.ArgumentParser) -> None:
    """--config, --opts, --device, --num_workers: what every PaddleSeg-config tool takes."""
    parser.add_argument("--config", required=True, type=str,
                        help="PaddleSeg YAML config (may use _base_).")
    parser.add_argument("--opts", nargs="+", default=None, metavar="KEY=VALUE",
                        help="Override config keys, e.g. --opts batch_size=2 "
                             "model.pretrained=output/iter_1000/model.pdparams "
                             "(values go through ast.literal_eval, as in PaddleSeg).")
    parser.add_argument("--device", choices=DEVICES, default=default_device(),
                        help="Device to run on (default: gpu when Paddle is compiled with "
                             "CUDA, else cpu; %(default)s here).")
    parser.add_argument("--num_workers", type=non_negative_int, default=0,
                        help="Data loader worker processes (0: load in the main process).")


def add_precision_args(parser: argparse.ArgumentParser) -> None:
    """--precision and --amp_level, as PaddleSeg's tools define them."""
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32",
                        help="fp16 uses automatic mixed precision (AMP); bf16 only where the "
                             "installed PaddleSeg engine implements it.")
    parser.add_argument("--amp_level", choices=AMP_LEVELS, default="O1",
                        help="AMP level for --precision fp16: O1 casts per operator lists, "
                             "O2 casts the whole model except batch norm.")


def check_precision(precision: str, engine: Callable) -> None:
    """Refuse a precision the ``paddleseg.core`` function ``engine`` would silently run as fp32
    (PaddleSeg 2.8 tests only ``precision == 'fp16'``; a newer engine may know bf16).

    Raises:
        PSSLConfigError: ``precision`` is not implemented by ``engine``.
    """
    try:
        source = inspect.getsource(engine)
    except (OSError, TypeError):
        source = ""
    supported = ["fp32", "fp16"] + (["bf16"] if "bf16" in source else [])
    if precision not in supported:
        raise PSSLConfigError(
            f"--precision {precision}: the installed PaddleSeg {engine.__module__}."
            f"{engine.__name__} implements only {', '.join(supported)} and would run "
            f"{precision} as fp32; use --precision fp16 (AMP) or fp32")


def run_guarded(prog: str, body: Callable[[], Optional[int]]) -> int:
    """Run ``body``; an error for the user (``user_errors.USER_ERRORS``) or Ctrl-C becomes one
    stderr line. Returns ``body``'s status (None: 0), the error's, or :data:`EXIT_INTERRUPTED`."""
    try:
        status = body()
    except USER_ERRORS as exc:
        return report_error(prog, exc)
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted (Ctrl-C)\n")
        return EXIT_INTERRUPTED
    return 0 if status is None else int(status)


def run_command(prog: str, build_parser: Callable[[], argparse.ArgumentParser],
                run: Callable[[argparse.Namespace], Optional[int]],
                argv: Optional[Sequence[str]] = None) -> int:
    """A tool's ``main``: parse ``argv`` (``sys.argv[1:]`` when None; argparse exits 2 on bad
    flags), then ``run`` the arguments under :func:`run_guarded`."""
    args = build_parser().parse_args(argv)
    return run_guarded(prog, lambda: run(args))
