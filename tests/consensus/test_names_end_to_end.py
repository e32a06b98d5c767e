"""Any name the file system allows goes through generator, store, train.txt, PSSLDataset,
the check tool and evaluation, or is a recorded failure saying why (spaces, tabs, non-ASCII)."""
import json

import numpy as np
import pytest
from PIL import Image

import paddleseg_pssl  # noqa: F401  (registration)
from paddleseg_pssl.analysis import check, pssl_io
from paddleseg_pssl.analysis.evaluate import evaluate_pssl_root
from paddleseg_pssl.analysis.masks import MaskSpec
from paddleseg_pssl.consensus.run import config as config_mod
from paddleseg_pssl.consensus.run import runner
from paddleseg_pssl.datasets import PSSLDataset
from paddleseg_pssl.pssl_format import read_training_image
from tests.consensus import generate_fixtures as gf

GOOD = {"train/n001_red/with space.png", "train/n001_red/ünïcödé 日本.png",
        "train/n001_red/ trailing space .png", "train/n005_é/x.png"}
BAD = {"train/n001_red/tab\there.png": "rename the file",
       "train/n004 two words/y.png": "rename the folder"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("names")
    imgs = root / "imgs"
    gf.write_image_tree(imgs, 1)
    rng = np.random.default_rng(0)
    for rel in list(GOOD) + list(BAD):
        path = imgs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(gf.synthetic_image(rng, 0, 40, 48)).save(path, format="PNG")
    classes = ["n001_red", "n002_green", "n003_blue", "n005_é"]
    # a class list: without one, a folder that cannot be a class stops the run at start-up
    (imgs / "synsets.txt").write_text("".join(f"{c}\n" for c in classes), encoding="utf-8")
    weights = [gf.save_tiny_weights(root / "w.pdparams", len(classes), seed=0)]
    cfg = gf.write_config(root / "gen.yml", images_root=imgs, output=root / "out",
                          weights=weights, extra={"store": {"fsync": False}})
    result = runner.run(config_mod.load_config(str(cfg)))
    return {"imgs": imgs, "out": root / "out", "result": result, "classes": classes, "cfg": cfg}


def test_generator_labels_every_representable_name(generated):
    out = generated["out"]
    samples = dict(pssl_io.read_sample_list(str(out)))
    images = set(samples.values())
    assert GOOD <= images and len(images) == 3 + len(GOOD)
    for label_rel in samples:
        assert (out / label_rel).is_file()
    assert (out / "synsets.txt").read_text().split() == generated["classes"]


def test_unrepresentable_names_are_failures_with_the_reason(generated):
    failures = dict(gf.failure_lines(generated["out"]))
    # more failures than the 0 % limit
    assert len(failures) == len(BAD) and generated["result"].too_many_failures
    for rel, needle in BAD.items():
        recorded = rel.replace("\t", " ")          # failures.txt is tab-separated
        assert needle in failures[recorded]


def test_resume_redoes_nothing(generated):
    before = (generated["out"] / "train.txt").read_bytes()
    assert runner.run(config_mod.load_config(str(generated["cfg"]))).too_many_failures
    manifest = json.loads((generated["out"] / "manifest.json").read_text())
    assert manifest["run"]["ranks"]["0"]["labelled"] == 0
    assert (generated["out"] / "train.txt").read_bytes() == before


def test_dataset_check_and_evaluation_read_the_same_names(generated):
    out, imgs = generated["out"], generated["imgs"]
    dataset = PSSLDataset(transforms=[], imagenet_root=str(imgs), pssl_root=str(out))
    assert len(dataset) == 3 + len(GOOD)
    for i, (image_path, _) in enumerate(dataset.file_list):
        assert dataset[i]["label"].shape == read_training_image(image_path).shape[:2]
    report = check.check_pssl_root(str(out), str(imgs), workers=2, progress=False)
    assert report.ok and report.samples == 3 + len(GOOD), report.problems
    masks = out.parent / "masks"
    for label_rel, image_rel in pssl_io.read_sample_list(str(out)):
        h, w = read_training_image(str(imgs / image_rel)).shape[:2]
        mask = masks / (image_rel.rsplit(".", 1)[0] + ".png")
        mask.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.pad(np.full((h // 2, w // 2), 255, np.uint8),
                               ((0, h - h // 2), (0, w - w // 2)))).save(mask)
    evaluation = evaluate_pssl_root(str(out), str(masks), MaskSpec("binary"))
    assert evaluation.n_evaluated == 3 + len(GOOD) and not evaluation.missing_masks
