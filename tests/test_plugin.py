"""The plugin's start-up report: one short line, the list of fixes at debug level or on request."""
from typing import List, Tuple

import pytest

from paddleseg_pssl import plugin


def report(monkeypatch, **env: str) -> Tuple[List[str], List[str]]:
    """(info lines, debug lines) of a first report under ``env``."""
    monkeypatch.setattr(plugin, "_LOGGED", [])
    monkeypatch.delenv(plugin.REPORT_ENV, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    info: List[str] = []
    debug: List[str] = []
    assert plugin.log_once(info.append, debug.append)
    assert not plugin.log_once(info.append, debug.append)
    return info, debug


def test_import_already_reported():
    assert not plugin.log_once(pytest.fail, pytest.fail)


def test_one_short_line_and_the_list_at_debug_level(monkeypatch):
    info, debug = report(monkeypatch)
    assert info == [plugin.summary()] and debug == [plugin.describe()]
    assert f"{len(plugin.applied_fixes())} PaddleSeg fixes applied" in info[0]
    assert plugin.REPORT_ENV in info[0]
    assert "cvlibs.SegBuilder:label-space-from-data" in debug[0]


def test_the_list_on_request(monkeypatch):
    info, debug = report(monkeypatch, **{plugin.REPORT_ENV: plugin.FULL_REPORT})
    assert info == [plugin.describe()] and debug == []
