"""``tools/pssl_study.py`` on a quick demo world: points pre-trained, fine-tuned, tabulated,
plotted, and reused on a rerun."""
import csv
import io
import subprocess
import sys

import pytest

from tests.cli.conftest import REPO_ROOT


def _study(world, *args):
    return subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "pssl_study.py"),
                           "--world", str(world), "--scale", "quick", *args],
                          cwd=REPO_ROOT, capture_output=True, text=True)


def _finished_study_rows(world, *args):
    """The study's CSV rows after a run with ``args`` that must succeed; and its stdout."""
    completed = _study(world, *args)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    csv_text = (world / "study" / "study.csv").read_text()
    return list(csv.DictReader(io.StringIO(csv_text))), completed.stdout


@pytest.mark.slow
def test_points_of_both_label_sources_land_in_one_table_and_are_reused(quick_world):
    world, _ = quick_world
    rows, stdout = _finished_study_rows(world, "--sizes", "0.6", "--labels", "pssl", "oracle")
    study_dir = world / "study"
    # The demo's own pre-training (all labelled images) and the two new half-size points.
    assert sorted((r["labels"], float(r["fraction"])) for r in rows) == [
        ("oracle", 0.6), ("pssl", 0.6), ("pssl", 1.0)]
    assert "| nothing: conventional init |" in stdout
    assert "| oracle labels |" in (study_dir / "study.md").read_text()
    assert (study_dir / "study.png").stat().st_size > 0
    assert (study_dir / "oracle_labels" / "train.txt").is_file()

    finished = {p: p.stat().st_mtime_ns for name in ("model.pdparams", "result.json")
                for p in study_dir.rglob(name)}
    again = _study(world, "--sizes", "0.6", "--labels", "pssl", "oracle")
    assert again.returncode == 0
    assert len(finished) >= 2 + 4  # two pre-trainings, four fine-tunes (2 rates x 1 seed)
    assert {p: p.stat().st_mtime_ns for p in finished} == finished  # nothing trained twice


@pytest.mark.slow
def test_label_rules_reach_the_pre_training_and_get_rows_of_their_own(quick_world):
    world, _ = quick_world
    rows, _ = _finished_study_rows(world, "--rules", "bg0.01", "below_d9_ignored", "--lrs", "0.05")
    logs = world / "logs"
    # The configuration the training printed (YAML), not only the command line.
    assert "background_weight: 0.01" in (logs / "study_pretrain_pssl_f1_i4_rbg0.01.log").read_text()
    assert "ignore_deciles:\n  - 0\n" in \
        (logs / "study_pretrain_pssl_f1_i4_rbelow_d9_ignored.log").read_text()
    assert {"bg0.01", "below_d9_ignored"} <= {r["rule"] for r in rows}


@pytest.mark.slow
def test_a_size_below_one_batch_is_refused_before_any_training(quick_world):
    world, _ = quick_world
    completed = _study(world, "--sizes", "0.1")
    assert completed.returncode == 2
    assert "--sizes 0.1 is 3 of 30 labelled images, fewer than one pre-training batch (16)" \
        in completed.stderr


@pytest.mark.slow
def test_a_folder_that_is_not_a_demo_world_is_refused_in_one_line(tmp_path):
    completed = _study(tmp_path)
    assert completed.returncode == 2
    assert "holds no pssl/train.txt" in completed.stderr.strip().splitlines()[-1]
