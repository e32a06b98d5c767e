"""Start-up cost of the ways to load paddleseg-pssl into processes that never use PaddleSeg.

Times ``python -c pass`` side by side in one run, each start-up processing one extra site
directory: with nothing in it, with ``paddleseg_pssl_autoload.pth`` (the shipped hook), and with
an eager ``.pth`` that imports ``paddleseg_pssl`` (what the issue measured as 4.5 s)::

    python benchmarks/bench_autoload_startup.py [--runs 20]
"""
import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
HOOK_PTH = REPO_ROOT / "paddleseg_pssl_autoload.pth"
SITECUSTOMIZE = "import os, site\nsite.addsitedir(os.path.dirname(os.path.abspath(__file__)))\n"
#: The eager variant costs seconds per start; it gets this many runs.
EAGER_RUNS = 3


def site_dirs(root: pathlib.Path) -> Dict[str, pathlib.Path]:
    """One site directory per variant, processed at start-up through a sitecustomize."""
    variants = {"nothing": None, "autoload hook": HOOK_PTH, "eager import": None}
    dirs = {}
    for name, pth in variants.items():
        directory = root / name.replace(" ", "_")
        directory.mkdir()
        (directory / "sitecustomize.py").write_text(SITECUSTOMIZE)
        if pth is not None:
            shutil.copy(pth, directory / pth.name)
        dirs[name] = directory
    (dirs["eager import"] / "eager.pth").write_text("import paddleseg_pssl\n")
    return dirs


def time_startups(site_dir: pathlib.Path, runs: int) -> List[float]:
    env = dict(os.environ, PYTHONPATH=f"{site_dir}{os.pathsep}{REPO_ROOT}")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True,
                       capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="Starts per cheap variant.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {name: statistics.median(time_startups(
            directory, EAGER_RUNS if name == "eager import" else args.runs))
            for name, directory in site_dirs(pathlib.Path(tmp)).items()}
    base = results["nothing"]
    print(f"{'python -c pass with':<22}{'median':>10}{'ratio':>8}")
    for name, seconds in results.items():
        print(f"{name:<22}{seconds * 1000:>8.1f}ms{seconds / base:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
