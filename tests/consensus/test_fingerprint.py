"""The settings guard survives a lost manifest: fingerprint in several places, labels without
any readable fingerprint refused unless adopted, device kind part of the settings."""
import json
import pathlib

import pytest

from paddleseg_pssl.cli import generate
from paddleseg_pssl.consensus.store import fingerprint
from paddleseg_pssl.consensus.run import runner, startup
from paddleseg_pssl.consensus.run.generate_config import ConfigError
from paddleseg_pssl.consensus.store.pssl_store import PSSLStore, StoreSettingsError
from paddleseg_pssl.errors import EXIT_BAD_INPUT
from tests.consensus import generate_fixtures as gf


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return gf.tiny_world(tmp_path_factory.mktemp("fp_world"), 2, output="unused")


def _cfg(world, out: pathlib.Path, *opts: str):
    return gf.load_into(world["cfg"], out, *opts)


def test_fingerprint_is_kept_beside_the_labels_and_each_done_list(world, tmp_path):
    out = tmp_path / "out"
    assert runner.run(_cfg(world, out)).ok
    manifest = json.loads((out / "manifest.json").read_text())
    kept = json.loads((out / fingerprint.FINGERPRINT_FILE).read_text())
    assert kept["settings_digest"] == manifest["settings_digest"]
    store = PSSLStore(str(tmp_path / "inflight"), rank=1, world_size=2, fsync=False)
    (tmp_path / "inflight").mkdir()
    fingerprint.guard(store, "d1", {"seed": 0})
    assert fingerprint.read_record(fingerprint.rank_fingerprint_path(store, 1))[
        "settings_digest"] == "d1"


@pytest.mark.parametrize("lost", [["manifest.json"], ["pssl_settings.json"]])
def test_other_seed_refused_with_one_record_lost(world, tmp_path, lost):
    out = tmp_path / "out"
    assert runner.run(_cfg(world, out)).ok
    for name in lost:
        (out / name).unlink()
    with pytest.raises(ConfigError, match=r"other settings.*changed \['seed'\]"):
        runner.run(_cfg(world, out, "seed=8"))


def test_a_refusal_names_only_settings_that_shape_labels(world, tmp_path):
    """``limit`` and ``explainer.batch_size`` alone are accepted, so a refusal never lists them."""
    out = tmp_path / "out"
    assert runner.run(_cfg(world, out)).ok
    assert runner.run(_cfg(world, out, "limit=2", "explainer.batch_size=2")).ok
    with pytest.raises(ConfigError, match=r"changed \['seed'\]"):
        runner.run(_cfg(world, out, "seed=8", "limit=3"))


def test_truncated_manifest_does_not_hide_the_settings(world, tmp_path):
    out = tmp_path / "out"
    assert runner.run(_cfg(world, out)).ok
    (out / "manifest.json").write_text('{"settings_digest": "ab')
    with pytest.raises(ConfigError, match="other settings"):
        runner.run(_cfg(world, out, "explainer.n_samples=3"))
    assert runner.run(_cfg(world, out)).ok      # same settings: resumes, manifest rewritten
    assert json.loads((out / "manifest.json").read_text())["counts"]["labels"] == 6


def test_labels_without_any_fingerprint_are_refused_unless_adopted(world, tmp_path, capsys):
    out = tmp_path / "out"
    assert runner.run(_cfg(world, out)).ok
    before = sorted(p.name for p in out.rglob("*.png"))
    for name in ("manifest.json", fingerprint.FINGERPRINT_FILE):
        (out / name).unlink()
    with pytest.raises(ConfigError, match="no readable settings fingerprint.*adopt_existing=True"
                       ) as err:
        runner.run(_cfg(world, out, "seed=8"))
    assert "--" not in err.value.detail   # the library names its argument, not a flag
    argv = ["--config", str(world["cfg"]), "--output", str(out), "--opts", "seed=8", "--quiet"]
    assert generate.main(argv) == EXIT_BAD_INPUT
    assert "pass --adopt_existing to keep them" in capsys.readouterr().err.splitlines()[-1]
    assert runner.run(_cfg(world, out, "seed=8"), adopt_existing=True).ok
    assert sorted(p.name for p in out.rglob("*.png")) == before   # adopted, not redone
    assert json.loads((out / "manifest.json").read_text())["settings"]["seed"] == 8


def test_the_manifest_records_an_adoption_and_keeps_it_on_resume(world, tmp_path):
    out = tmp_path / "out"
    assert runner.run(_cfg(world, out)).ok
    assert "adopted_existing" not in json.loads((out / "manifest.json").read_text())
    for name in ("manifest.json", fingerprint.FINGERPRINT_FILE):
        (out / name).unlink()
    assert runner.run(_cfg(world, out), adopt_existing=True).ok
    adopted = json.loads((out / "manifest.json").read_text())["adopted_existing"]
    assert adopted["labels"] == len(list(out.rglob("*.png"))) and adopted["at"]
    assert runner.run(_cfg(world, out)).ok
    assert json.loads((out / "manifest.json").read_text())["adopted_existing"] == adopted


def test_empty_folder_needs_no_fingerprint(tmp_path):
    fingerprint.guard(PSSLStore(str(tmp_path), fsync=False), "d1", {"seed": 0})
    with pytest.raises(StoreSettingsError):
        fingerprint.guard(PSSLStore(str(tmp_path), fsync=False), "d2", {"seed": 0})


def test_device_kind_is_part_of_the_settings(world, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert runner.run(_cfg(world, out)).ok
    monkeypatch.setattr(startup, "device_kind", lambda: "gpu")
    with pytest.raises(ConfigError, match=r"other settings.*'device'"):
        runner.run(_cfg(world, out))


def test_settings_guard(tmp_path):
    store = PSSLStore(tmp_path, fsync=False)
    fingerprint.guard(store, "d1", {"seed": 0})
    fingerprint.guard(store, "d1", {"seed": 0})      # same settings: fine (resume)
    other = PSSLStore(tmp_path, rank=1, world_size=2, fsync=False)
    with pytest.raises(StoreSettingsError, match=r"changed \['seed'\]"):
        fingerprint.guard(other, "d2", {"seed": 1})
    store.merge([], {"settings_digest": "d1", "settings": {"seed": 0}})
    with pytest.raises(StoreSettingsError, match="new output folder"):
        fingerprint.guard(PSSLStore(tmp_path, fsync=False), "d3", {"seed": 0})
