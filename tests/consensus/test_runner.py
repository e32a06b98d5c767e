"""The generation loop end to end on a tiny world (PSSL, arXiv 2207.03335, Section 3).

- an in-process run labels every image with valid deciles and a complete manifest;
- a run killed with SIGKILL mid-way, then resumed, publishes byte-identical files;
- a 2-process ``paddle.distributed.launch`` run publishes the same files as 1 process;
- the bad-input corpus: image problems are recorded failures, model problems stop at start-up.
"""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
from PIL import Image

from paddleseg_pssl.consensus.run import config as config_mod
from paddleseg_pssl.consensus.run import runner, startup
from paddleseg_pssl.consensus.run.generate_config import ConfigError
from tests.consensus import generate_fixtures as gf

REPO = pathlib.Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "generate_pssl.py"
PER_CLASS = 8                      # 24 images
DELAY = 0.025                      # seconds per forward: slow enough to kill mid-way
EXIF_ORIENTATION = 0x0112          # the EXIF tag, and its value for "rotate 90 degrees"
EXIF_ROTATED_90 = 6


def _env():
    env = dict(os.environ)
    env.pop("CUDA_VISIBLE_DEVICES", None)
    env.update(PYTHONPATH=str(REPO), OMP_NUM_THREADS="1",
               PYTHONWARNINGS="ignore")
    return env


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Images, two tiny classifiers, one config, and a reference uninterrupted run."""
    world = gf.tiny_world(tmp_path_factory.mktemp("gen_world"), PER_CLASS,
                          weight_seeds=(0, 1), output="ref", delay=DELAY)
    assert runner.run(config_mod.load_config(str(world["cfg"]))).ok
    return dict(world, ref=world["root"] / "ref")


def test_run_labels_every_image(world):
    ref = world["ref"]
    lines = gf.train_lines(ref)
    assert len(lines) == 3 * PER_CLASS and lines == sorted(lines)
    assert (ref / "synsets.txt").read_text().split() == list(gf.CLASSES)
    assert (ref / "failures.txt").read_text() == ""
    assert not (ref / ".pssl_work").exists()
    for line in lines:
        label = cv2.imread(str(ref / line), cv2.IMREAD_UNCHANGED)
        assert label.dtype == np.uint8 and label.ndim == 2
        assert min(label.shape) == 32                       # short side 32, aspect kept
        counts = np.bincount(label.ravel(), minlength=10)
        assert label.max() == 9 and counts[9] <= 0.1 * label.size + 1
        image = Image.open(world["root"] / "imgs" / line[: -len(".png")])
        h, w = label.shape
        assert abs(w / h - image.width / image.height) < 0.1
    manifest = json.loads((ref / "manifest.json").read_text())
    assert manifest["counts"] == {"images": 24, "labels": 24, "failures": 0,
                                  "failure_fraction": 0.0}
    assert [m["name"] for m in manifest["models"]] == ["tiny0", "tiny1"]
    assert all(len(m["weights_sha256"]) == 64 for m in manifest["models"])
    for pkg in ("paddle", "paddleseg", "interpretdl", "numpy"):
        assert manifest["versions"][pkg]
    assert manifest["settings"]["explainer"]["n_samples"] == 2
    assert manifest["run"]["world_size"] == 1


def _copy_of_reference(world, tmp_path) -> pathlib.Path:
    out = tmp_path / "copy"
    shutil.copytree(world["ref"], out)
    return out


def test_rerun_skips_everything_and_changes_nothing(world, tmp_path):
    out = _copy_of_reference(world, tmp_path)
    cfg = config_mod.load_config(str(world["cfg"]), overrides={"output": str(out)})
    assert runner.run(cfg).ok
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["run"]["ranks"]["0"]["skipped"] == 24
    assert manifest["run"]["ranks"]["0"]["labelled"] == 0
    assert gf.published_files(out) == gf.published_files(world["ref"])


def test_throughput_settings_may_change_on_resume(world, tmp_path):
    out = _copy_of_reference(world, tmp_path)
    cfg = config_mod.load_config(str(world["cfg"]), ["explainer.batch_size=2", "num_workers=0"],
                                 overrides={"output": str(out)})
    assert runner.run(cfg).ok
    after, before = gf.published_files(out), gf.published_files(world["ref"])
    assert {k: v for k, v in after.items() if k != "manifest.json"} == {
        k: v for k, v in before.items() if k != "manifest.json"}


def test_measured_chunk_sizes_leave_labels_unchanged_and_are_in_the_manifest(world, tmp_path):
    """batch_size auto (measured per model) gives the reference's labels byte for byte; the
    manifest records each model's choice and the time per stage (--profile logs it)."""
    cfg = config_mod.load_config(str(world["cfg"]), ["explainer.batch_size=auto", "profile=true"],
                                 overrides={"output": str(tmp_path / "auto")})
    assert runner.run(cfg).ok
    labels = {k: v for k, v in gf.published_files(tmp_path / "auto").items()
              if k.endswith(".png")}
    assert labels and labels == {k: v for k, v in gf.published_files(world["ref"]).items()
                                 if k.endswith(".png")}
    rank = json.loads((tmp_path / "auto" / "manifest.json").read_text())["run"]["ranks"]["0"]
    assert {c["model"] for c in rank["chunk_sizes"]} == {"tiny0", "tiny1"}
    assert all(1 <= c["batch_size"] <= 2 for c in rank["chunk_sizes"])
    assert rank["stages"]["explain"]["ms_per_image"] > 0 and "wait_writer" in rank["stages"]


def test_other_settings_into_same_output_are_refused(world, tmp_path):
    out = _copy_of_reference(world, tmp_path)
    cfg = config_mod.load_config(str(world["cfg"]), ["seed=8"], overrides={"output": str(out)})
    with pytest.raises(ConfigError, match="'output'.*other settings.*seed"):
        runner.run(cfg)


def test_a_refused_rerun_leaves_a_finished_output_as_it_was(world, tmp_path):
    out = _copy_of_reference(world, tmp_path)
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    cfg = config_mod.load_config(str(world["cfg"]), ["seed=8"], overrides={"output": str(out)})
    with pytest.raises(ConfigError, match="other settings"):
        runner.run(cfg)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before


def test_a_resume_removes_what_a_kill_in_the_merge_left(world, tmp_path):
    """Rank 0 removes them at start-up, so even a resume that stops before merging does."""
    out = _copy_of_reference(world, tmp_path)
    stale = [out / ".manifest.json.tmp.4242", out / ".train.txt.tmp.4242"]
    for path in stale:
        path.write_bytes(b"")
    cfg = config_mod.load_config(str(world["cfg"]), ["merge_timeout_s=0.1"],
                                 overrides={"output": str(out)})
    with pytest.raises(TimeoutError):
        runner.run(cfg, rank=0, world_size=2)      # rank 1 never comes
    assert not any(path.exists() for path in stale)


def test_settings_digest_covers_resolved_defaults(world):
    """Labels are tied to the settings that made them, defaults included: naming a default
    explicitly is the same run; another aggregation or smoothing is not (so labels made under
    an earlier default are refused when resumed under a new one)."""
    from paddleseg_pssl.consensus.explain.engine_base import AGGREGATIONS, DEFAULT_AGGREGATION

    def digest(opts):
        cfg = config_mod.load_config(str(world["cfg"]), opts)
        return startup.prepare(cfg, build_models=False).settings_digest

    implicit = digest([])
    assert digest([f"explainer.aggregation={DEFAULT_AGGREGATION}"]) == implicit
    other = next(a for a in AGGREGATIONS if a != DEFAULT_AGGREGATION)
    assert digest([f"explainer.aggregation={other}"]) != implicit
    assert digest(["consensus.smoothing=0.3"]) != implicit
    assert digest(["consensus.normalisation=clip_p99"]) != implicit
    manifest = json.loads((world["ref"] / "manifest.json").read_text())
    assert manifest["settings"]["explainer"]["aggregation"] == DEFAULT_AGGREGATION
    assert set(manifest["settings"]["consensus"]) == {"normalisation", "smoothing"}


def test_labels_made_under_the_earlier_noise_default_are_refused_on_resume(world, tmp_path):
    """The reference was made at noise 0.1, the default before the label-cost study; resumed
    under today's default noise it is refused, naming the changed section."""
    from paddleseg_pssl.consensus.explain.engine_base import DEFAULT_NOISE_AMOUNT

    manifest = json.loads((world["ref"] / "manifest.json").read_text())
    assert manifest["settings"]["explainer"]["noise_amount"] == 0.1 != DEFAULT_NOISE_AMOUNT
    out = _copy_of_reference(world, tmp_path)
    cfg = config_mod.load_config(str(world["cfg"]),
                                 [f"explainer.noise_amount={DEFAULT_NOISE_AMOUNT}"],
                                 overrides={"output": str(out)})
    with pytest.raises(ConfigError, match=r"other settings.*changed \[.explainer.\]"):
        runner.run(cfg)


def test_other_consensus_settings_into_same_output_are_refused(world, tmp_path):
    out = _copy_of_reference(world, tmp_path)
    cfg = config_mod.load_config(str(world["cfg"]), ["consensus.smoothing=0.3"],
                                 overrides={"output": str(out)})
    with pytest.raises(ConfigError, match="'output'.*other settings"):
        runner.run(cfg)


@pytest.mark.slow
def test_killed_then_resumed_run_is_byte_identical(world, tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, str(TOOL), "--config", str(world["cfg"]), "--output", str(out)]
    progress = out / ".pssl_work" / "train.rank0.txt"
    proc = subprocess.Popen(cmd, cwd=REPO, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if progress.is_file() and len(progress.read_text().splitlines()) >= 4:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    done = progress.read_text().splitlines()
    assert 4 <= len(done) < 24
    assert not (out / "train.txt").exists()
    for png in out.rglob("*.png"):           # no truncated label, even the one in flight
        if not png.name.startswith("."):
            assert cv2.imread(str(png), cv2.IMREAD_UNCHANGED) is not None
    resumed = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert gf.published_files(out) == gf.published_files(world["ref"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["run"]["ranks"]["0"]["skipped"] >= len(done)


@pytest.mark.slow
def test_two_process_launch_equals_one_process(world, tmp_path):
    out = tmp_path / "dist"
    cmd = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
           "--log_dir", str(tmp_path / "log"), str(TOOL), "--config", str(world["cfg"]),
           "--output", str(out)]
    proc = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True,
                          timeout=600)
    logs = "".join(p.read_text(errors="replace") for p in sorted((tmp_path / "log").glob("*")))
    assert proc.returncode == 0, (proc.stdout + proc.stderr + logs)[-3000:]
    assert gf.published_files(out) == gf.published_files(world["ref"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["run"]["world_size"] == 2
    ranks = manifest["run"]["ranks"]
    assert sorted(ranks) == ["0", "1"]
    assert ranks["0"]["labelled"] == ranks["1"]["labelled"] == 12


# ---- bad input -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bad_world(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen_bad")
    imgs = root / "imgs"
    gf.write_image_tree(imgs, 2)
    rng = np.random.default_rng(5)
    folder = imgs / "train" / gf.CLASSES[0]
    good = gf.synthetic_image(rng, 0, 40, 48)
    (folder / "zero_byte.jpg").write_bytes(b"")
    Image.fromarray(good).save(folder / "full.jpg", quality=90)
    data = (folder / "full.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (folder / "full.jpg").unlink()
    (folder / "not_an_image.jpg").write_text("this is text, not a JPEG\n")
    Image.fromarray(good).convert("L").save(folder / "grayscale.png")
    Image.fromarray(good).convert("RGBA").save(folder / "rgba.png")
    Image.fromarray(good).convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray(good[:1, :1]).save(folder / "one_pixel.png")
    # PIL reads them, PaddleSeg's OpenCV reader does not (GIF) or does unrotated (WebP EXIF)
    Image.fromarray(good).convert("P").save(folder / "palette.gif")
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = EXIF_ROTATED_90
    Image.fromarray(good).save(folder / "rotated.webp", exif=exif)
    Image.fromarray(rng.integers(0, 255, (1, 10000, 3), dtype=np.uint8)).save(
        folder / "strip_1x10000.png")
    unknown = imgs / "train" / "n999_not_in_list"
    unknown.mkdir()
    Image.fromarray(good).save(unknown / "x.png")
    weights = [gf.save_tiny_weights(root / "w.pdparams", len(gf.CLASSES), seed=3)]
    return {"root": root, "imgs": imgs, "weights": weights}


EXPECTED_FAILURES = {
    "train/n001_red/zero_byte.jpg": "zero-byte",
    "train/n001_red/truncated.jpg": "truncated",
    "train/n001_red/not_an_image.jpg": "not an image",
    "train/n999_not_in_list/x.png": "not in the class list",
    "train/n001_red/palette.gif": "the training reader refuses it: image",
    "train/n001_red/rotated.webp": "the training reader sees 48x40, the labeller 40x48",
}


@pytest.mark.parametrize("max_fraction, too_many", [(0.5, False), (0.2, True)])
def test_bad_images_are_recorded_failures(bad_world, tmp_path, max_fraction, too_many):
    cfg_path = gf.write_config(tmp_path / "bad.yml", images_root=bad_world["imgs"],
                               output=tmp_path / "out", weights=bad_world["weights"],
                               extra={"max_failure_fraction": max_fraction})
    assert runner.run(config_mod.load_config(str(cfg_path))).too_many_failures is too_many
    out = tmp_path / "out"
    failures = dict(line.split("\t", 1)
                    for line in (out / "failures.txt").read_text().splitlines())
    assert sorted(failures) == sorted(EXPECTED_FAILURES)
    for path, reason in EXPECTED_FAILURES.items():
        assert reason in failures[path], failures[path]
    labelled = set(gf.train_lines(out))
    shapes = {}
    for name in ("grayscale.png", "rgba.png", "cmyk.jpg", "one_pixel.png", "strip_1x10000.png"):
        rel = f"train/n001_red/{name}.png"
        assert rel in labelled
        shapes[name] = cv2.imread(str(out / rel), cv2.IMREAD_UNCHANGED).shape
    assert shapes["grayscale.png"] == shapes["cmyk.jpg"] == (32, 38)
    assert shapes["one_pixel.png"] == (32, 32)
    assert shapes["strip_1x10000.png"][0] == 32 and shapes["strip_1x10000.png"][1] > 32
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["images"] == 6 + 10 + 1
    assert manifest["counts"]["failures"] == 6 and manifest["counts"]["labels"] == 11


def _cfg(bad_world, tmp_path, **kwargs):
    return gf.write_config(tmp_path / "c.yml", images_root=bad_world["imgs"],
                           output=tmp_path / "out", **kwargs)


def test_missing_weights_stop_at_start_up(bad_world, tmp_path):
    path = _cfg(bad_world, tmp_path, weights=[str(tmp_path / "absent.pdparams")])
    with pytest.raises(ConfigError, match=r"'ensemble\[0\]\.weights'.*does not exist") as err:
        runner.run(config_mod.load_config(str(path)))
    assert err.value.key == "ensemble[0].weights"
    assert not (tmp_path / "out").exists()


def test_model_output_size_not_class_count_stops_at_start_up(bad_world, tmp_path):
    path = _cfg(bad_world, tmp_path, weights=[None], arch="wrong_output_cnn",
                extra={"require_weights": False})
    with pytest.raises(ConfigError, match=r"ensemble\[0\].*\[1, 5\].*\[1, 3\]") as err:
        runner.run(config_mod.load_config(str(path)))
    assert err.value.key == "ensemble[0]"


def test_weights_of_another_class_count_stop_at_start_up(bad_world, tmp_path):
    w = gf.save_tiny_weights(tmp_path / "w5.pdparams", 5, seed=0)
    path = _cfg(bad_world, tmp_path, weights=[w])
    with pytest.raises(ConfigError, match=r"ensemble\[0\]\.weights.*do not fit"):
        runner.run(config_mod.load_config(str(path)))


def test_unknown_engine_setting_stops_at_start_up(bad_world, tmp_path):
    path = _cfg(bad_world, tmp_path, weights=bad_world["weights"])
    with pytest.raises(ConfigError, match="n_sample"):
        runner.run(config_mod.load_config(str(path), ["explainer.n_sample=3"]))


def test_generator_labels_match_interpretdls_own_smoothgrad(world, tmp_path):
    """Through the generator, on InterpretDL's own noise for each image's seed, the default
    engine (our interpreter) gives the labels InterpretDL's SmoothGradInterpreter gives."""
    outs = {}
    for name, opts in {"ours": ["explainer.noise_source=numpy"],
                       "interpretdl": ["explainer.engine=interpretdl",
                                       "explainer.batch_size=auto"]}.items():
        cfg = config_mod.load_config(str(world["cfg"]), opts + ["store.keep_float=true"],
                                     overrides={"output": str(tmp_path / name)})
        assert runner.run(cfg).ok
        outs[name] = tmp_path / name
    lines = gf.train_lines(outs["ours"])
    assert lines == gf.train_lines(outs["interpretdl"])
    same = total = 0
    for line in lines:
        a = cv2.imread(str(outs["ours"] / line), cv2.IMREAD_UNCHANGED)
        b = cv2.imread(str(outs["interpretdl"] / line), cv2.IMREAD_UNCHANGED)
        same, total = same + int((a == b).sum()), total + a.size
        fa = np.load(str(outs["ours"] / line)[: -len(".png")] + ".npy").astype(np.float32)
        fb = np.load(str(outs["interpretdl"] / line)[: -len(".png")] + ".npy").astype(np.float32)
        np.testing.assert_allclose(fa, fb, atol=2e-3)
    assert same / total > 0.99


def test_default_engine_without_interpretdl_stops_at_start_up(world, monkeypatch):
    monkeypatch.setitem(sys.modules, "interpretdl", None)   # import interpretdl -> ImportError
    with pytest.raises(ConfigError, match="'explainer'.*InterpretDL.*requirements-nodeps"):
        startup.prepare(config_mod.load_config(str(world["cfg"])), build_models=False)


def test_images_per_class_labels_a_balanced_subset_and_records_it(world):
    cfg = config_mod.load_config(str(world["cfg"]), ["images.per_class=1"])
    context = startup.prepare(cfg, build_models=False)
    assert sorted(it.class_name for it in context.items) == sorted(gf.CLASSES)
    assert context.settings["images"]["per_class"] == 1
    full = startup.prepare(config_mod.load_config(str(world["cfg"])), build_models=False)
    assert context.settings_digest == full.settings_digest  # same labels, fewer of them
