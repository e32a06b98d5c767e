"""The label-quality benchmark's pieces on real photos and real ImageNet classifiers
(skipped where ../shared/data/real is absent), and the clean skip of the scripts reading them."""
import csv
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

#: The scripts that read ../shared/data/real: the benchmark and the docs' figures.
REAL_DATA_SCRIPTS = ("label_quality_real.py", "make_figures.py")


@pytest.mark.slow
@pytest.mark.parametrize("script", REAL_DATA_SCRIPTS)
def test_script_skips_cleanly_without_real_data(script, tmp_path):
    completed = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / script),
                                "--real_root", str(tmp_path / "absent"), "--work",
                                str(tmp_path / "w")],
                               capture_output=True, text=True, cwd=REPO_ROOT)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("skipped: no real data")
    assert not (tmp_path / "w").exists()


@pytest.mark.slow
@pytest.mark.real_data
def test_real_ensemble_picks_a_candidate_class_for_real_photos(real_root, tmp_path):
    """Three real cow photos: the chosen class is one of MSRC's cow candidates (ox, water
    buffalo, bison), through the tool a user runs."""
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    import real_photo_runs as bench

    rows = [r for r in bench.read_objects(str(real_root)) if r["category"] == "cow"][:3]
    candidates = bench.write_candidates(rows, str(tmp_path / "c.csv"))
    out = tmp_path / "list.txt"
    env = bench.subprocess_env(str(real_root))
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / "choose_classes.py"), "--config",
         bench.GENERATE_BASE, "--candidates", candidates, "--output", str(out), "--quiet",
         "--device", "cpu", "--opts"] + bench.base_opts(str(real_root), None),
        capture_output=True, text=True, cwd=REPO_ROOT, env=env)
    assert completed.returncode == 0, completed.stderr
    with open(candidates, encoding="utf-8") as f:
        allowed = {r["image"]: set(r["candidates"].split()) for r in csv.DictReader(f)}
    lines = out.read_text().splitlines()
    assert len(lines) == 3
    for line in lines:
        image, chosen = line.rsplit(" ", 1)
        assert chosen in allowed[image] and os.path.isfile(
            os.path.join(real_root, "msrc_objects", "images", image))


def test_photo_bootstrap_tells_a_real_difference_from_none():
    """A cheaper setting is judged by the paired difference over photo resamples: the same
    labels give zero, labels whose top decile is all object are better beyond the noise."""
    import numpy as np

    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    import photo_bootstrap

    rng = np.random.default_rng(0)
    reference = rng.integers(0, 100, (30, 2, 10))
    reference[:, 1] = np.minimum(reference[:, 1], reference[:, 0])
    same = photo_bootstrap.paired_difference(reference, reference.copy(), 1, "precision")
    assert same == (0.0, 0.0, 0.0) and photo_bootstrap.within_noise(same)
    better = reference.copy()
    better[:, 1, 9] = better[:, 0, 9]          # every top-decile pixel inside the object
    diff, low, high = photo_bootstrap.paired_difference(reference, better, 1, "precision")
    assert 0.0 < low <= diff <= high
    assert not photo_bootstrap.within_noise(
        photo_bootstrap.paired_difference(better, reference, 1, "precision"))
