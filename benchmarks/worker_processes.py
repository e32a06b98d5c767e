"""Start benchmark workers side by side with a thread budget each and collect their JSON results."""
from __future__ import annotations

import json
import os
import subprocess
from typing import List, Sequence

#: How much of a failed worker's stderr a benchmark error shows.
STDERR_TAIL_CHARS = 3000


def run_side_by_side(commands: Sequence[Sequence[str]], threads: int, what: str) -> List[dict]:
    """Run ``commands`` at once (``threads`` OpenMP/MKL threads each); the last stdout line of
    each, parsed as JSON, in command order."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               TQDM_DISABLE="1", PYTHONWARNINGS="ignore")
    procs = [subprocess.Popen(list(cmd), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for cmd in commands]
    results = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"worker ({what}) failed:\n{err[-STDERR_TAIL_CHARS:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results
