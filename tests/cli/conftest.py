"""A quick-scale ``tools/demo.py`` world, made once for the tests that need a finished one."""
import pathlib
import subprocess
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def quick_world(tmp_path_factory):
    """(output folder, completed process) of ``tools/demo.py --scale quick``."""
    output = tmp_path_factory.mktemp("quick_world") / "demo"
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / "demo.py"), "--scale", "quick",
         "--output", str(output)], cwd=REPO_ROOT, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return output, completed
