"""Argument helpers shared by the paddleseg-pssl command lines (PSSL, arXiv 2207.03335).

The flags keep the names and meanings of PaddleSeg 2.8's ``tools/train.py`` and
``tools/val.py``, so a PaddleSeg command line works unchanged with ours; the differences are
that ``--device`` defaults to the device Paddle was built for and that bad input ends in one
line on stderr with exit status 2 (see :func:`run_guarded`).
"""
import argparse
import inspect
import sys
from typing import Any, Callable, List, Mapping, Optional, Sequence

import paddle

from paddleseg_pssl.errors import EXIT_INTERRUPTED, OptionNames, PSSLConfigError
from paddleseg_pssl.training.sample_guard import SampleLoadError
from paddleseg_pssl.user_errors import FLAG_NAMES, print_error, report_error  # noqa: F401



def flag_names(spellings: Mapping[str, str]) -> OptionNames:
    """:data:`FLAG_NAMES` with a command line's own ``{option: flag}`` spellings added."""
    return OptionNames({**FLAG_NAMES, **spellings}, prefix=FLAG_NAMES.prefix)


#: Devices ``paddleseg.utils.utils.set_device`` knows (it falls back to CPU for the rest).
DEVICES: Sequence[str] = ("cpu", "gpu", "xpu", "npu", "mlu")

#: Mixed-precision levels of ``paddle.amp`` that PaddleSeg passes through.
AMP_LEVELS: Sequence[str] = ("O1", "O2")

#: Precisions offered on the command line; see :func:`engine_precisions` for what runs.
PRECISIONS: Sequence[str] = ("fp32", "fp16", "bf16")


def default_device() -> str:
    """``gpu`` when Paddle is compiled with CUDA, else ``cpu`` (PaddleSeg always says gpu)."""
    return "gpu" if paddle.is_compiled_with_cuda() else "cpu"


def _parse_number(text: str, convert: Callable[[str], Any], kind: str, example: str) -> Any:
    """``convert(text)``, or an argparse error naming the text, ``kind`` and an example."""
    try:
        return convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {kind}; expected e.g. {example}")


def positive_int(text: str) -> int:
    """argparse type: an integer > 0."""
    value = _parse_number(text, int, "an integer", "1000")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not positive; expected an integer > 0")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    value = _parse_number(text, int, "an integer", "0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; expected an integer >= 0")
    return value


def positive_float(text: str) -> float:
    """argparse type: a float > 0."""
    value = _parse_number(text, float, "a number", "0.01")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{value} is not positive; expected a number > 0")
    return value


def parser_from_docstring(prog: str, doc: str, *, examples: bool = True
                          ) -> argparse.ArgumentParser:
    """A parser described by a tool module's docstring.

    Args:
        prog: Program name (``tools/predict.py``).
        doc: The module docstring: a summary paragraph, then usage examples and notes.
        examples: Show everything after the summary as the help's epilog, line breaks kept;
            False: the summary only.
    """
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


def engine_precisions(engine: Callable) -> List[str]:
    """The precisions a ``paddleseg.core`` function implements, read from its source.

    PaddleSeg 2.8's ``train``/``evaluate`` only test ``precision == 'fp16'`` and treat any
    other value as fp32; this finds out whether the installed engine also knows ``bf16``.
    """
    try:
        source = inspect.getsource(engine)
    except (OSError, TypeError):
        return ["fp32", "fp16"]
    return ["fp32", "fp16"] + (["bf16"] if "bf16" in source else [])


def check_precision(precision: str, engine: Callable) -> None:
    """Refuse a precision the engine would silently run as fp32.

    Raises:
        PSSLConfigError: ``precision`` is not implemented by ``engine``.
    """
    supported = engine_precisions(engine)
    if precision not in supported:
        raise PSSLConfigError(
            f"--precision {precision}: the installed PaddleSeg {engine.__module__}."
            f"{engine.__name__} implements only {', '.join(supported)} and would run "
            f"{precision} as fp32; use --precision fp16 (AMP) or fp32")


def run_guarded(prog: str, body: Callable[[], Optional[int]],
                flag_names: Mapping[str, str] = FLAG_NAMES) -> int:
    """Run ``body``; a :class:`PSSLConfigError`, a training sample that cannot be loaded
    (:class:`SampleLoadError`) or Ctrl-C becomes one stderr line and a status.

    Args:
        prog: Program name for the message (``tools/train.py``).
        body: The command; returns an exit status or None for success.
        flag_names: The flags of the run options an error names (an
            :class:`~paddleseg_pssl.errors.NamesRunOptions` template's fields).

    Returns:
        The exit status: ``body``'s, 0, :data:`EXIT_BAD_INPUT`, :data:`EXIT_BAD_SAMPLE` or
        :data:`EXIT_INTERRUPTED`.
    """
    try:
        status = body()
    except (PSSLConfigError, SampleLoadError) as exc:
        return report_error(prog, exc, flag_names)
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted (Ctrl-C)\n")
        return EXIT_INTERRUPTED
    return 0 if status is None else int(status)


def run_command(prog: str, build_parser: Callable[[], argparse.ArgumentParser],
                run: Callable[[argparse.Namespace], Optional[int]],
                argv: Optional[Sequence[str]] = None,
                flag_names: Mapping[str, str] = FLAG_NAMES) -> int:
    """The ``main`` of a tool: parse ``argv``, then ``run`` the arguments under :func:`run_guarded`.

    Args:
        prog: Program name for error messages (``tools/train.py``).
        build_parser: Makes the tool's parser.
        run: The command; returns an exit status or None for success.
        argv: Arguments without the program name; ``sys.argv[1:]`` when None.
        flag_names: The flags of the run options library errors name (see :func:`run_guarded`).

    Returns:
        0 on success, ``run``'s status, or 2 for bad input (one line on stderr); argparse
        itself exits with 2 on unknown or malformed flags.
    """
    args = build_parser().parse_args(argv)
    return run_guarded(prog, lambda: run(args), flag_names)
