"""tools/choose_classes.py as a user runs it: a candidates CSV in, a generation list file out."""
import subprocess
import sys

import numpy as np
import paddle
import pytest

from paddleseg_pssl.analysis import class_choice
from paddleseg_pssl.consensus.run import config as config_mod
from paddleseg_pssl.consensus.explain.classifier_loading import build_classifier
from paddleseg_pssl.consensus.explain import ensemble as ensemble_mod
from paddleseg_pssl.consensus.run import image_loop, image_source
from tests.consensus import generate_fixtures as gf

from .test_generate import REPO


def _world(tmp_path):
    root = gf.write_image_tree(tmp_path / "imgs", per_class=2)
    weights = [gf.save_tiny_weights(tmp_path / f"w{i}.pdparams", len(gf.CLASSES), seed=i)
               for i in range(2)]
    cfg = gf.write_config(tmp_path / "gen.yml", images_root=root, output=tmp_path / "out",
                          weights=weights)
    images = sorted(p.relative_to(root).as_posix() for p in (root / "train").rglob("img*"))
    return root, cfg, images


@pytest.mark.slow
def test_each_image_gets_the_candidate_the_ensemble_prefers(tmp_path):
    root, cfg_path, images = _world(tmp_path)
    candidates = tmp_path / "candidates.csv"
    candidates.write_text("image,candidates\n" + "".join(f"{im},1 2\n" for im in images))
    out = tmp_path / "chosen.txt"
    completed = subprocess.run(
        [sys.executable, str(REPO / "tools" / "choose_classes.py"), "--config", str(cfg_path),
         "--candidates", str(candidates), "--output", str(out), "--device", "cpu", "--quiet",
         "--opts", "output=null"],  # choosing writes no label: a config without output does
        cwd=REPO, capture_output=True, text=True, env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert completed.returncode == 0, completed.stderr
    lines = out.read_text().splitlines()
    assert [line.rsplit(" ", 1)[0] for line in lines] == images
    # the same choice computed in-process, model by model
    cfg = config_mod.load_config(str(cfg_path))
    specs = ensemble_mod.with_classes(cfg.ensemble, len(gf.CLASSES))
    paddle.set_device("cpu")
    models = [build_classifier(s) for s in specs]
    for line in lines:
        image_rel, chosen = line.rsplit(" ", 1)
        img = image_loop.decode(str(root / image_rel), 32, None)
        probs = class_choice.ensemble_probabilities(models, specs, img)
        assert int(chosen) in (1, 2) and int(chosen) == 1 + int(np.argmax(probs[1:]))
    # the list file drives generation as images.list
    source = image_source.build_image_source(str(root), list_file=str(out),
                                             synsets=str(root / "synsets.txt"))
    chosen_ids = {line.rsplit(" ", 1)[0]: int(line.rsplit(" ", 1)[1]) for line in lines}
    assert {it.image_rel: it.class_id for it in source.items} == chosen_ids


@pytest.mark.slow
def test_bad_candidates_end_in_one_line_with_status_2(tmp_path):
    _, cfg_path, _ = _world(tmp_path)
    candidates = tmp_path / "c.csv"
    candidates.write_text("image,candidates\ntrain/x.png,9\n")
    completed = subprocess.run(
        [sys.executable, str(REPO / "tools" / "choose_classes.py"), "--config", str(cfg_path),
         "--candidates", str(candidates), "--output", str(tmp_path / "o.txt")],
        cwd=REPO, capture_output=True, text=True, env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert completed.returncode == 2
    assert "outside the class list" in completed.stderr and str(candidates) in completed.stderr
    assert not (tmp_path / "o.txt").exists()
    missing = subprocess.run(
        [sys.executable, str(REPO / "tools" / "choose_classes.py"), "--config", str(cfg_path),
         "--candidates", str(tmp_path / "none.csv"), "--output", str(tmp_path / "o.txt")],
        cwd=REPO, capture_output=True, text=True, env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert missing.returncode == 2 and "--candidates" in missing.stderr
