"""Output folder guards: unusable output is one line with exit 2, a second run into a folder
in use is refused naming the holder, workers die with their launcher."""
import errno
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

from paddleseg_pssl.cli import generate
from paddleseg_pssl.consensus.store import output_lock
from paddleseg_pssl.consensus.run.generate_config import ConfigError
from tests.consensus import generate_fixtures as gf

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_output_under_a_regular_file_names_the_path(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match=r"'output'.*file.*lies under a regular file"):
        output_lock.ensure_output_dir(str(tmp_path / "file" / "out"))


def test_output_not_writable_names_the_path(tmp_path, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "out"))

    monkeypatch.setattr(tempfile, "TemporaryFile", denied)
    with pytest.raises(ConfigError, match=r"'output'.*out' is not writable"):
        output_lock.ensure_output_dir(str(tmp_path / "out"))


def test_output_not_writable_names_the_folder_not_its_probe_file(tmp_path, monkeypatch):
    probe = str(tmp_path / "out" / "tmpk2x9_probe")

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", probe)

    monkeypatch.setattr(tempfile, "TemporaryFile", denied)
    with pytest.raises(ConfigError, match=r"'output'.*out' is not writable") as err:
        output_lock.ensure_output_dir(str(tmp_path / "out"))
    assert "tmpk2x9_probe" not in str(err.value)


def test_second_holder_is_refused_naming_the_first(tmp_path):
    work = str(tmp_path / ".pssl_work")
    with output_lock.RankLock(work, 0):
        with pytest.raises(output_lock.OutputBusyError, match=rf"rank 0: pid {os.getpid()} on"):
            output_lock.RankLock(work, 0).acquire()
        output_lock.RankLock(work, 1).acquire().release()    # other ranks are free
    output_lock.RankLock(work, 0).acquire().release()        # released


def test_a_run_sharded_another_way_is_refused(tmp_path):
    work = str(tmp_path / ".pssl_work")
    with output_lock.RankLock(work, 0, world_size=1):
        with pytest.raises(output_lock.OutputBusyError, match=r"world1.*world size 2"):
            output_lock.RankLock(work, 1, world_size=2).acquire()
    with output_lock.RankLock(work, 0, world_size=2):           # ranks of one run share it
        output_lock.RankLock(work, 1, world_size=2).acquire().release()
    output_lock.RankLock(work, 1, world_size=2).acquire().release()


def test_full_disk_keeps_the_previous_holder_record(tmp_path, monkeypatch):
    work = str(tmp_path / ".pssl_work")
    output_lock.RankLock(work, 0).acquire().release()
    before = (tmp_path / ".pssl_work" / "rank0.lock").read_bytes()

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "pwrite", full)
    with pytest.raises(OSError):
        output_lock.RankLock(work, 0).acquire()
    monkeypatch.undo()
    assert (tmp_path / ".pssl_work" / "rank0.lock").read_bytes() == before
    output_lock.RankLock(work, 0).acquire().release()           # nothing left held


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return gf.tiny_world(tmp_path_factory.mktemp("lock_world"), 1)


def test_run_into_a_folder_in_use_exits_2_naming_the_holder(world, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["--config", str(world["cfg"]), "--output", str(out), "--quiet"]
    with output_lock.RankLock(str(out / ".pssl_work"), 0):
        assert generate.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"in use by another run (rank 0: pid {os.getpid()}" in err[0]
    assert not list(out.rglob("*.png"))
    assert generate.main(argv) == 0


def test_full_disk_at_start_up_stops_with_exit_3(world, tmp_path, capsys, monkeypatch):
    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "pwrite", full)
    argv = ["--config", str(world["cfg"]), "--output", str(tmp_path / "out"), "--quiet"]
    assert generate.main(argv) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0], err


@pytest.mark.parametrize("make_bad", ["under_file", "factory_raises"])
def test_start_up_errors_are_one_line_exit_2(world, tmp_path, capsys, monkeypatch, make_bad):
    (tmp_path / "file").write_text("x")
    argv = ["--config", str(world["cfg"]), "--quiet", "--output"]
    if make_bad == "under_file":
        argv.append(str(tmp_path / "file" / "out"))
        needle = "lies under a regular file"
    else:
        (tmp_path / "broken_nets.py").write_text("import os\nundefined_name + 1\n")
        monkeypatch.syspath_prepend(str(tmp_path))
        argv += [str(tmp_path / "out"), "--opts", "ensemble.0.arch=broken_nets:build"]
        needle = "raised NameError: name 'undefined_name' is not defined"
    assert generate.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err


@pytest.mark.slow
def test_worker_exits_when_its_launcher_dies(tmp_path):
    pid_file = tmp_path / "worker.pid"
    worker = textwrap.dedent(f"""
        import os, time
        from paddleseg_pssl.consensus.run import lifecycle
        lifecycle.exit_with_parent()
        open({str(pid_file)!r}, "w").write(str(os.getpid()))
        time.sleep(120)
    """)
    launcher = textwrap.dedent(f"""
        import subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", {worker!r}])
        time.sleep(120)
    """)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", launcher], env=env)
    try:
        deadline = time.monotonic() + 60
        while not pid_file.is_file() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.05)
        pid = int(pid_file.read_text())
        assert _alive(pid)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), "the worker outlived its launcher"


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
