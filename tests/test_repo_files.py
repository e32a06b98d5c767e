"""The repository's own files: pytest.ini names no machine's data, setup.py closes its files."""
import configparser
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

#: The environment variables tests/conftest.py locates the optional real data by, per marker.
DATA_MARKERS = {"camvid": "PSSL_CAMVID_ROOT", "real_data": "PSSL_REAL_ROOT"}


def test_data_markers_name_the_variable_locating_the_data_not_a_path():
    ini = configparser.ConfigParser()
    ini.read(REPO_ROOT / "pytest.ini")
    markers = dict(line.split(":", 1) for line in ini["pytest"]["markers"].strip().splitlines())
    for marker, variable in DATA_MARKERS.items():
        assert variable in markers[marker] and "../" not in markers[marker], marker


@pytest.mark.slow
def test_setup_py_leaves_no_file_open():
    proc = subprocess.run([sys.executable, "-W", "always::ResourceWarning", "setup.py",
                           "--version"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and "unclosed file" not in proc.stderr, proc.stderr
