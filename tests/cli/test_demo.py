"""The miniature demo: end to end at its quick scale (the steps of ``make demo``), exit statuses."""
import json

import pytest

from paddleseg_pssl.cli import demo
from paddleseg_pssl.errors import EXIT_INTERRUPTED, PSSLConfigError


@pytest.mark.slow
def test_quick_demo_runs_every_step_and_reports_both_tables(quick_world):
    output, completed = quick_world
    # The two tables the demo exists to show, and where everything is.
    assert "| abs_of_mean | consensus |" in completed.stdout
    assert "| pssl | PSSL pre-trained backbone + head |" in completed.stdout
    assert "Learning-rate search" in completed.stdout
    assert f"Everything is in {output.resolve()}" in completed.stdout
    # Every step left its product where the summary says.
    manifest = json.loads((output / "pssl" / "manifest.json").read_text())
    assert manifest["counts"]["labels"] == manifest["counts"]["images"] > 0
    assert (output / "pssl" / "train.txt").read_text().strip()
    assert list((output / "figures" / "pssl_panels").glob("*.png"))
    assert list((output / "figures" / "predictions").glob("*.png"))
    assert (output / "finetune" / "comparison.csv").read_text().count("\n") == 1 + 2 * 2
    assert (output / "SUMMARY.md").is_file()
    # Pre-training shares its batch over the CPU processes, under Paddle's launcher.
    if demo.CPU_PROCESSES > 1:
        assert list((output / "logs" / "pretrain_ranks").glob("workerlog.*"))


def test_a_batch_is_split_evenly_over_processes_or_refused():
    assert demo.per_process_batch(16, 2) == 8
    with pytest.raises(PSSLConfigError, match="batch_size 16 does not split over 3 processes"):
        demo.per_process_batch(16, 3)


def _stop_at_first_step(monkeypatch, error: BaseException) -> None:
    def make_data(self):
        raise error

    monkeypatch.setattr(demo.Demo, "make_data", make_data)


def test_a_failed_step_ends_with_its_message_and_status_1(tmp_path, monkeypatch, capsys):
    _stop_at_first_step(monkeypatch, demo.DemoStepFailed("train.py exited 2; see x.log"))
    assert demo.main(["--output", str(tmp_path)]) == demo.EXIT_STEP_FAILED == 1
    assert "demo step failed: train.py exited 2; see x.log" in capsys.readouterr().err


def test_ctrl_c_is_one_line_and_status_130(tmp_path, monkeypatch, capsys):
    _stop_at_first_step(monkeypatch, KeyboardInterrupt())
    assert demo.main(["--output", str(tmp_path)]) == EXIT_INTERRUPTED
    assert capsys.readouterr().err.splitlines()[-1] == "tools/demo.py: interrupted (Ctrl-C)"
