"""Shared pytest fixtures: repository paths and the optional real CamVid copy."""
import os
import pathlib

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
CAMVID_ROOT = pathlib.Path(
    os.environ.get("PSSL_CAMVID_ROOT", REPO_ROOT.parent / "shared" / "data" / "camvid"))
REAL_ROOT = pathlib.Path(
    os.environ.get("PSSL_REAL_ROOT", REPO_ROOT.parent / "shared" / "data" / "real"))


@pytest.fixture(scope="session")
def repo_root() -> pathlib.Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def camvid_root() -> pathlib.Path:
    """The real CamVid copy (../shared/data/camvid); tests using it skip when it is absent."""
    if not (CAMVID_ROOT / "CamVid" / "train").is_dir():
        pytest.skip(f"real CamVid not found at {CAMVID_ROOT} (set PSSL_CAMVID_ROOT)")
    return CAMVID_ROOT


@pytest.fixture(scope="session")
def real_root() -> pathlib.Path:
    """Real photos with masks and real ImageNet classifiers (../shared/data/real); tests using
    it skip when it is absent."""
    if not (REAL_ROOT / "msrc_objects" / "objects.csv").is_file():
        pytest.skip(f"real data not found at {REAL_ROOT} (set PSSL_REAL_ROOT)")
    return REAL_ROOT
