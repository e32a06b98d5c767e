"""Fail fast: a run that would only waste itself stops with one line and exit status 3, keeps
what it finished, and resumes; a model with non-finite scores is refused at start-up."""
import errno
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from paddleseg_pssl.cli import generate
from paddleseg_pssl.consensus.run import config as config_mod
from paddleseg_pssl.consensus.run import fail_fast, image_loop, runner
from paddleseg_pssl.consensus.run.generate_config import ConfigError
from paddleseg_pssl.consensus.store.pssl_store import PSSLStore
from paddleseg_pssl.errors import EXIT_FAIL_FAST, PSSLRunStopped
from tests.consensus import generate_fixtures as gf

REPO = pathlib.Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "generate_pssl.py"


# ---- the rules -------------------------------------------------------------------------------

def test_first_k_failures_for_one_reason_stop():
    watch = fail_fast.FailFast(first=3, in_a_row=0)
    watch.failed("a", "model 'm' failed on 12x9")
    watch.failed("b", "model 'n' failed on 30x7")
    with pytest.raises(PSSLRunStopped, match="the first 3 images all failed.*'c'"):
        watch.failed("c", "model 'o' failed on 1x1")


def test_other_reasons_or_a_success_reset_the_streak():
    watch = fail_fast.FailFast(first=2, in_a_row=3)
    watch.failed("a", "cannot decode")
    watch.failed("b", "zero-byte file")        # first two differ: rule 1 cannot fire any more
    watch.failed("c", "zero-byte file")
    watch.succeeded()
    watch.failed("d", "zero-byte file")
    watch.failed("e", "zero-byte file")
    with pytest.raises(PSSLRunStopped, match="3 images in a row"):
        watch.failed("f", "zero-byte file")


def test_failures_known_from_an_earlier_run_do_not_count():
    watch = fail_fast.FailFast(first=2, in_a_row=2, known_failures={"a", "b", "c"})
    for name in "abc":
        watch.failed(name, "truncated")


def test_zero_turns_the_rules_off():
    watch = fail_fast.FailFast(first=0, in_a_row=0)
    for i in range(100):
        watch.failed(str(i), "same")


def test_machine_errors_are_told_apart_from_image_errors():
    assert fail_fast.is_machine_error(OSError(errno.ENOSPC, "No space left on device"))
    assert fail_fast.is_machine_error(PermissionError(errno.EACCES, "Permission denied"))
    assert not fail_fast.is_machine_error(OSError(errno.ENAMETOOLONG, "File name too long"))
    assert not fail_fast.is_machine_error(ValueError("x"))


# ---- in the runner ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = gf.tiny_world(tmp_path_factory.mktemp("ff_world"), 3, output="ref",
                          arch="flaky_cnn", delay=0.02,
                          extra={"fail_fast": {"first": 3, "in_a_row": 3}})
    assert runner.run(config_mod.load_config(str(world["cfg"]))).ok
    return dict(world, ref=world["root"] / "ref")


def _cfg(world, out):
    return gf.load_into(world["cfg"], out)


def test_disk_full_stops_at_once_then_resumes(world, tmp_path, monkeypatch):
    out = tmp_path / "out"
    real_write = PSSLStore.write
    calls = []

    def write(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(out / "x.png"))
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(PSSLStore, "write", write)
    with pytest.raises(PSSLRunStopped, match="No space left on device.*rerun to resume"):
        runner.run(_cfg(world, out))
    assert len(calls) == 3                   # stopped at the first machine error
    assert not (out / "failures.txt").exists()
    monkeypatch.setattr(PSSLStore, "write", real_write)
    assert runner.run(_cfg(world, out)).ok
    assert gf.published_files(out) == gf.published_files(world["ref"])


def test_disk_full_in_the_merge_is_one_line_exit_3(world, tmp_path, monkeypatch, capsys):
    from paddleseg_pssl.consensus.store import pssl_store as store_mod

    out = tmp_path / "out"

    def no_space(path, text, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", path)

    monkeypatch.setattr(store_mod, "atomic_write_text", no_space)
    argv = ["--config", str(world["cfg"]), "--output", str(out), "--quiet"]
    assert generate.main(argv) == EXIT_FAIL_FAST
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("tools/generate_pssl.py: stopped: No space left on device")
    assert "Traceback" not in "".join(err)


def test_images_failing_alike_stop_with_exit_3(world, tmp_path, monkeypatch, capsys):
    def broken(ctx, item, img):
        raise image_loop.ImageFailure(f"explainer ran out of memory on {img.shape[0]} rows")

    monkeypatch.setattr(image_loop, "explain_models", broken)
    out = tmp_path / "out"
    argv = ["--config", str(world["cfg"]), "--output", str(out), "--quiet"]
    assert generate.main(argv) == EXIT_FAIL_FAST
    lines = [ln for ln in capsys.readouterr().err.splitlines() if "stopped" in ln]
    assert len(lines) == 1 and "the first 3 images all failed" in lines[0]
    assert len((out / ".pssl_work" / "failures.rank0.txt").read_text().splitlines()) == 3


def _nan_weights(world, tmp_path) -> str:
    import paddle

    state = paddle.load(world["weights"][0])
    state = {k: paddle.full_like(v, float("nan")) for k, v in state.items()}
    path = str(tmp_path / "nan.pdparams")
    paddle.save(state, path)
    return path


def test_model_with_nan_weights_is_refused_at_start_up(world, tmp_path):
    cfg = gf.write_config(tmp_path / "nan.yml", images_root=world["root"] / "imgs",
                          output=tmp_path / "out",
                          weights=[world["weights"][0], _nan_weights(world, tmp_path)])
    with pytest.raises(ConfigError, match=r"'ensemble\[1\]'.*tiny1.*non-finite scores") as err:
        runner.run(config_mod.load_config(str(cfg)))
    assert err.value.key == "ensemble[1]"
    assert not list((tmp_path / "out").rglob("*.png"))


def test_nan_gradients_of_finite_scores_do_not_blame_the_weights(world, tmp_path, monkeypatch):
    from paddleseg_pssl.consensus.explain.batched_engine import BatchedSmoothGradEngine

    monkeypatch.setattr(BatchedSmoothGradEngine, "explain",
                        lambda self, model, inputs, *args, **kwargs: np.full(
                            inputs.shape[-2:], np.nan, np.float32))
    with pytest.raises(ConfigError, match=r"non-finite gradients.*scores are finite") as err:
        runner.run(gf.load_into(world["cfg"], tmp_path / "out"))
    assert world["weights"][0] not in str(err.value) and "weights" not in str(err.value)


# ---- killed and resumed ----------------------------------------------------------------------

def _env(**extra):
    env = dict(os.environ)
    env.pop("CUDA_VISIBLE_DEVICES", None)
    env.update(PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore", **extra)
    return env


def _wait_for_lines(path: pathlib.Path, count: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if path.is_file() and len(path.read_text().splitlines()) >= count:
            return
        time.sleep(0.01)
    raise AssertionError(f"{path} did not reach {count} lines (exit {proc.poll()})")


@pytest.mark.slow
def test_killed_while_failing_then_fail_fast_then_resumed(world, tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, str(TOOL), "--config", str(world["cfg"]), "--output", str(out),
           "--quiet"]
    # probe (1 + 2 forwards), 2 labelled images (2 x 2), then every forward fails
    failing = _env(**{gf.FAIL_AFTER_ENV: "7"})
    proc = subprocess.Popen(cmd, cwd=REPO, env=failing, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        _wait_for_lines(out / ".pssl_work" / "failures.rank0.txt", 1, proc)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    again = subprocess.run(cmd, cwd=REPO, env=failing, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == EXIT_FAIL_FAST, again.stderr[-2000:]
    assert "stopped: 3 images in a row failed" in again.stderr.strip().splitlines()[-1]
    assert "Traceback" not in again.stderr
    resumed = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert gf.published_files(out) == gf.published_files(world["ref"])


@pytest.mark.slow
def test_killed_during_the_merge_then_resumed(world, tmp_path):
    out = tmp_path / "out"
    kill_in_merge = (
        "import os, signal, sys\n"
        "from paddleseg_pssl.consensus.store import pssl_store as store\n"
        "real = store.atomic_write_text\n"
        "def write(path, text, **kw):\n"
        "    real(path, text, **kw)\n"
        "    if path.endswith('train.txt'):\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "store.atomic_write_text = write\n"
        "from paddleseg_pssl.cli import generate\n"
        "sys.exit(generate.main(sys.argv[1:]))\n")
    args = ["--config", str(world["cfg"]), "--output", str(out), "--quiet"]
    killed = subprocess.run([sys.executable, "-c", kill_in_merge, *args], cwd=REPO,
                            env=_env(), capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL
    assert (out / "train.txt").is_file() and not (out / "manifest.json").exists()
    resumed = subprocess.run([sys.executable, str(TOOL), *args], cwd=REPO, env=_env(),
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert gf.published_files(out) == gf.published_files(world["ref"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["run"]["ranks"]["0"]["labelled"] == 0     # nothing redone
