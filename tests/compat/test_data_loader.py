"""Tests for ``paddleseg_pssl.compat.data_loader``: a sample that raises ends the loop as itself.

The loops run in a subprocess with a timeout: without the fix, ``num_workers=0`` waits forever.
"""
import os
import pathlib
import subprocess
import sys

import pytest

import paddleseg_pssl  # noqa: F401  (applies the fixes)
from paddleseg_pssl import compat
from paddleseg_pssl.compat import data_loader

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]

#: Bound on one loader subprocess (Paddle start-up included); a hang fails the test.
LOOP_TIMEOUT_S = 120

#: Iterates a loader whose sample 1 raises ``ValueError('bad sample 1')``; prints what ended it.
_LOOP = """
import sys
import paddleseg_pssl
import numpy as np
import paddle

class Data(paddle.io.Dataset):
    def __getitem__(self, index):
        if index == 1:
            raise ValueError(f"bad sample {index}")
        return np.zeros([2], dtype="float32")

    def __len__(self):
        return 4

loader = paddle.io.DataLoader(Data(), batch_size=1, num_workers=int(sys.argv[1]))
try:
    for _ in loader:
        pass
except Exception as error:
    print("ENDED", type(error).__name__, str(error).strip().splitlines()[-1])
"""


@pytest.mark.slow
@pytest.mark.parametrize("num_workers", [0, 2])
def test_a_raising_sample_ends_the_loop_with_its_error(num_workers):
    proc = subprocess.run([sys.executable, "-c", _LOOP, str(num_workers)], cwd=REPO_ROOT,
                          env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True,
                          text=True, timeout=LOOP_TIMEOUT_S)
    ended = [line for line in proc.stdout.splitlines() if line.startswith("ENDED")]
    assert len(ended) == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert ended[0].startswith("ENDED ValueError") and ended[0].endswith("bad sample 1")


def test_probe_detects_the_stock_loader_and_passes_the_fixed_one():
    assert data_loader.probe_reader_error(compat.original(compat.SINGLE_PROCESS_ITER))
    assert not data_loader.probe_reader_error(
        compat.patching.current(compat.SINGLE_PROCESS_ITER))

