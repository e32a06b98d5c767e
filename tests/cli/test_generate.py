"""tools/generate_pssl.py: flags, exit statuses, hand sharding with --rank/--merge-only."""
import json
import pathlib
import subprocess
import sys

import pytest

from paddleseg_pssl import plugin
from paddleseg_pssl.cli import generate
from paddleseg_pssl.errors import EXIT_MERGE_TIMEOUT
from tests.consensus import generate_fixtures as gf

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = gf.tiny_world(tmp_path_factory.mktemp("cli_gen"), 3, weight_seeds=(1,),
                          output="unused", extra={"max_failure_fraction": 0.2})
    (world["imgs"] / "train" / gf.CLASSES[1] / "broken.jpg").write_bytes(b"\xff\xd8\xff")
    return dict(world, cfg=str(world["cfg"]))


def test_run_with_output_limit_and_opts(world, tmp_path):
    out = tmp_path / "o"
    status = generate.main(["--config", world["cfg"], "--output", str(out), "--limit", "3",
                            "--quiet", "--opts", "seed=3", "store.keep_float=true"])
    assert status == 0
    assert len(gf.train_lines(out)) == 3
    assert len(list(out.rglob("*.npy"))) == 3
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["settings"]["seed"] == 3 and manifest["counts"]["images"] == 3


def test_too_many_failures_exit_1(world, tmp_path, capsys):
    status = generate.main(["--config", world["cfg"], "--output", str(tmp_path / "o"),
                            "--quiet", "--opts", "max_failure_fraction=0.05"])
    assert status == 1
    assert (tmp_path / "o" / "failures.txt").read_text().startswith(
        "train/n002_green/broken.jpg\t")
    assert len(gf.train_lines(tmp_path / "o")) == 9


@pytest.mark.parametrize("opts, needle", [
    (["sed=1"], "config key 'sed': unknown key; did you mean 'seed'?"),
    (["ensemble.0.weights=/no/such.pdparams"], "config key 'ensemble[0].weights'"),
    (["explainer.aggregation=median"], "config key 'explainer'"),
    (["images.synsets=/no/synsets.txt"], "config key 'images.synsets'"),
])
def test_config_errors_exit_2_with_one_line(world, tmp_path, capsys, opts, needle):
    status = generate.main(["--config", world["cfg"], "--output", str(tmp_path / "o"),
                            "--opts", *opts])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert any(line.startswith("tools/generate_pssl.py: error: ") and needle in line
               for line in err), err
    assert not (tmp_path / "o" / "train").exists()

@pytest.mark.parametrize("argv, needle, library_key", [
    (["--opts", "output=null"], "config key 'output': is required; set it in the YAML or with "
                                "--opts output=<path>", "output"),
    (["--rank", "2", "--world_size", "2"], "config key '--rank/--world-size'",
     "rank/world_size"),
])
def test_the_cli_names_its_flags_the_library_its_keys(world, tmp_path, capsys, argv, needle,
                                                      library_key):
    from paddleseg_pssl.consensus.run import config as config_mod
    from paddleseg_pssl.consensus.run import runner
    from paddleseg_pssl.consensus.run.generate_config import ConfigError

    base = ["--config", world["cfg"], "--quiet"]
    if "output=null" not in argv:
        base += ["--output", str(tmp_path / "o")]
    assert generate.main(base + argv) == 2
    assert needle in capsys.readouterr().err
    with pytest.raises(ConfigError) as err:
        if library_key == "output":
            config_mod.load_config(world["cfg"], ["output=null"])
        else:
            runner.run(gf.load_into(world["cfg"], tmp_path / "o"), rank=2, world_size=2)
    assert err.value.key == library_key and "--" not in str(err.value)



def test_a_merge_timeout_is_one_line_with_its_own_status(world, tmp_path, capsys):
    status = generate.main(["--config", world["cfg"], "--output", str(tmp_path / "o"),
                            "--quiet", "--rank", "0", "--world_size", "2", "--opts",
                            "merge_timeout_s=0.1"])
    err = capsys.readouterr().err
    assert status == EXIT_MERGE_TIMEOUT, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("tools/generate_pssl.py: ranks [1] did not finish within"), last
    assert "rerun with --merge_only" in last


def test_hand_sharding_then_merge_only_equals_one_run(world, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    base = ["--config", world["cfg"], "--quiet"]
    assert generate.main(base + ["--output", str(one)]) == 0
    # shard 1 first (shard 0 would wait for shard 1's marker, then merge)
    assert generate.main(base + ["--output", str(two), "--rank", "1", "--world_size", "2"]) == 0
    assert not (two / "train.txt").exists()
    assert generate.main(base + ["--output", str(two), "--rank", "0", "--world_size", "2"]) == 0
    assert gf.published_files(two) == gf.published_files(one)
    # --merge-only on a finished output republishes the same files
    assert generate.main(base + ["--output", str(two), "--merge_only"]) == 0
    assert gf.published_files(two) == gf.published_files(one)


def _screen(args, cwd: pathlib.Path) -> subprocess.CompletedProcess:
    """The launcher's output as a user sees it, stdout and stderr interleaved."""
    return subprocess.run([sys.executable, str(REPO / "tools" / "generate_pssl.py"), *args],
                          cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=300)


@pytest.mark.slow
def test_first_screen_is_the_tools_own_after_one_plugin_line(tmp_path):
    lines = _screen(["--help"], tmp_path).stdout.splitlines()
    usage = next(i for i, line in enumerate(lines) if line.startswith("usage: "))
    assert usage <= 1 and all(plugin.summary() in line for line in lines[:usage]), lines
    world = gf.tiny_world(tmp_path, 1)
    proc = _screen(["--config", str(world["cfg"]), "--quiet"], tmp_path)
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0, proc.stdout
    assert plugin.summary() in lines[0]
    assert not any(plugin.LOG_PREFIX in line or "Warning" in line for line in lines[1:]), lines


@pytest.mark.slow
def test_launcher_script(world, tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "generate_pssl.py"), "--config",
                           world["cfg"], "--opts", "resolution.short_side=8"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "config key 'resolution.short_side': must be >= 32, got 8" in proc.stderr
