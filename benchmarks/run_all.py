"""Run every ``benchmarks/bench_*.py`` in turn (``make bench``); each prints its own table.

Benchmarks measure speed and size, never pass/fail: run them on a quiet machine and quote
ratios from one run, since they compare implementations side by side.
"""
import pathlib
import subprocess
import sys


def main() -> int:
    here = pathlib.Path(__file__).resolve().parent
    failures = []
    for script in sorted(here.glob("bench_*.py")):
        print(f"\n=== {script.name}", flush=True)
        if subprocess.call([sys.executable, str(script)]) != 0:
            failures.append(script.name)
    if failures:
        print(f"\nfailed: {', '.join(failures)}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
