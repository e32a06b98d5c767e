"""Shared pytest fixtures: repository paths and the optional real CamVid copy, real data and
PaddleSeg v2.8.0 checkout."""
import os
import pathlib

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
CAMVID_ROOT = pathlib.Path(
    os.environ.get("PSSL_CAMVID_ROOT", REPO_ROOT.parent / "shared" / "data" / "camvid"))
REAL_ROOT = pathlib.Path(
    os.environ.get("PSSL_REAL_ROOT", REPO_ROOT.parent / "shared" / "data" / "real"))
#: A checkout of PaddleSeg v2.8.0 (its tools/ and deploy/ scripts are not in the pip package).
PADDLESEG_ROOT = pathlib.Path(os.environ.get("PADDLESEG_ROOT", REPO_ROOT.parent / "PaddleSeg"))
#: The scripts of that checkout the stock-script tests run.
PADDLESEG_SCRIPTS = ("tools/train.py", "tools/predict.py", "tools/export.py",
                     "deploy/python/infer.py")


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


@pytest.fixture(scope="session")
def paddleseg_root() -> pathlib.Path:
    """A PaddleSeg v2.8.0 checkout (../PaddleSeg); tests using it skip when it is absent."""
    missing = [name for name in PADDLESEG_SCRIPTS if not (PADDLESEG_ROOT / name).is_file()]
    if missing:
        pytest.skip(f"PaddleSeg v2.8.0 scripts not found at {PADDLESEG_ROOT} ({', '.join(missing)}"
                    " missing; they are not in the pip package): set PADDLESEG_ROOT to a "
                    "checkout of tag v2.8.0")
    return PADDLESEG_ROOT
