"""Fixtures of the training tests."""
import pytest

from tests.training.config_fixtures import REPO_ROOT


@pytest.fixture
def in_repo(monkeypatch):
    """Run from the repository root, where the fixture configs' relative data paths hold."""
    monkeypatch.chdir(REPO_ROOT)
