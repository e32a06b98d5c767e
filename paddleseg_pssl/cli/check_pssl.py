"""Check a whole PSSL root before training: every label decodes and fits its image.

    python tools/check_pssl.py --pssl_root data/pssl_imagenet --imagenet_root data/ImageNet

Reads every line of train.txt: the class is in the synsets file, the image exists and decodes
with PSSLDataset's reader, the label decodes to deciles 0..9 (0/1 for the release *_eiseg.npz
format), and its size keeps its image's aspect. Every problem is printed on stdout, one
"<file>: <reason>" line each, and nothing else (the start-up log and summary go to stderr).

Exit status: 0 no problem; 1 problems found (listed); 2 bad input (a root or train.txt or the
synsets file missing, or train.txt empty).
"""
import argparse
import sys

from paddleseg_pssl.analysis import check
from paddleseg_pssl.cli import common

PROG = "tools/check_pssl.py"
#: Exit status when the check found problems.
EXIT_PROBLEMS = 1


def build_parser() -> argparse.ArgumentParser:
    parser = common.parser_from_docstring(PROG, __doc__)
    parser.add_argument("--pssl_root", required=True,
                        help="PSSL root (train.txt, synsets.txt, train/<class>/*.png).")
    parser.add_argument("--imagenet_root", required=True,
                        help="Image root the image paths of train.txt are relative to.")
    parser.add_argument("--num_workers", type=common.non_negative_int,
                        default=check.DEFAULT_WORKERS,
                        help="Checking processes (0: this process; default %(default)s, the "
                             "CPU count up to 8).")
    parser.add_argument("--quiet", action="store_true", help="No progress bar.")
    return parser


def run(args: argparse.Namespace) -> int:
    report = check.check_pssl_root(args.pssl_root, args.imagenet_root,
                                   workers=args.num_workers, progress=not args.quiet)
    sys.stdout.write("".join(f"{problem}\n" for problem in report.problems))
    rate = report.samples / report.seconds if report.seconds > 0 else float("inf")
    sys.stderr.write(f"{PROG}: {report.samples} samples checked in {report.seconds:.1f} s "
                     f"({rate:.0f}/s): {len(report.problems)} problems\n")
    return 0 if report.ok else EXIT_PROBLEMS


main = common.command(PROG, build_parser, run)  # 0 ok, 1 problems found, 2 bad input
