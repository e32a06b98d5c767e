"""Tiny classifiers, image trees and configs for the generator tests (PSSL, arXiv 2207.03335).

The classifiers are importable as ``tests.consensus.generate_fixtures:tiny_cnn`` (an
``ensemble:`` 'module:factory' arch), so subprocesses started through ``tools/generate_pssl.py``
(which puts the repository root on ``sys.path``) build them too.
"""
import pathlib
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import yaml
from PIL import Image

MODULE = "tests.consensus.generate_fixtures"
CLASSES = ("n001_red", "n002_green", "n003_blue")


def _layers():
    import paddle.nn as nn

    class TinyCNN(nn.Layer):
        """conv(3->c, stride 2) - ReLU - conv(c->c) - ReLU - global average pool - linear.

        ``delay`` seconds of sleep per forward make a run slow enough to be killed mid-way
        (it does not change any output).
        """

        def __init__(self, num_classes: int, width: int = 4, extra_outputs: int = 0,
                     delay: float = 0.0):
            super().__init__()
            self.conv1 = nn.Conv2D(3, width, 3, stride=2, padding=1)
            self.conv2 = nn.Conv2D(width, width, 3, padding=1)
            self.relu = nn.ReLU()
            self.pool = nn.AdaptiveAvgPool2D(1)
            self.fc = nn.Linear(width, num_classes + extra_outputs)
            self.delay = float(delay)

        def forward(self, x):
            if self.delay:
                time.sleep(self.delay)
            x = self.relu(self.conv2(self.relu(self.conv1(x))))
            return self.fc(self.pool(x).flatten(1))

    return TinyCNN


def tiny_cnn(num_classes: int, width: int = 4, delay: float = 0.0):
    """A tiny classifier taking any input size."""
    return _layers()(num_classes, width=width, delay=delay)


#: Environment variable: a ``flaky_cnn`` raises on every forward after this many (kept out of
#: the settings digest, so a resumed run without it has the same settings).
FAIL_AFTER_ENV = "PSSL_TEST_FAIL_AFTER"


def flaky_cnn(num_classes: int, width: int = 4, delay: float = 0.0):
    """``tiny_cnn`` (same weights) that fails like a lost device after ``$FAIL_AFTER_ENV``
    forwards."""
    import os

    model = tiny_cnn(num_classes, width=width, delay=delay)
    limit = os.environ.get(FAIL_AFTER_ENV)
    if limit is not None:
        calls = [0]
        forward = model.forward

        def failing_forward(x):
            calls[0] += 1
            if calls[0] > int(limit):
                raise RuntimeError(f"device lost after {calls[0] - 1} forwards")
            return forward(x)

        model.forward = failing_forward
    return model


def wrong_output_cnn(num_classes: int, width: int = 4):
    """A classifier whose output size is not the class count (num_classes + 2)."""
    return _layers()(num_classes, width=width, extra_outputs=2)


def save_tiny_weights(path: pathlib.Path, num_classes: int, seed: int, width: int = 4) -> str:
    import paddle

    paddle.seed(seed)
    model = tiny_cnn(num_classes, width=width)
    paddle.save(model.state_dict(), str(path))
    return str(path)


def synthetic_image(rng: np.random.Generator, class_id: int, h: int, w: int) -> np.ndarray:
    """A noisy background with one bright blob whose colour encodes the class."""
    img = rng.integers(0, 60, size=(h, w, 3)).astype(np.uint8)
    cy, cx = rng.integers(h // 4, 3 * h // 4), rng.integers(w // 4, 3 * w // 4)
    r = max(2, min(h, w) // 4)
    yy, xx = np.mgrid[:h, :w]
    blob = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    img[blob] = 40
    img[blob, class_id % 3] = 230
    return img


def write_image_tree(root: pathlib.Path, per_class: int, *, seed: int = 0,
                     sizes: Sequence = ((40, 48), (48, 40), (37, 53))) -> pathlib.Path:
    """``root/train/<class>/imgNN.{png,jpg}`` plus ``root/synsets.txt``; returns root."""
    rng = np.random.default_rng(seed)
    for c, name in enumerate(CLASSES):
        folder = root / "train" / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            h, w = sizes[(c + i) % len(sizes)]
            ext = "jpg" if i % 2 else "png"
            Image.fromarray(synthetic_image(rng, c, h, w)).save(folder / f"img{i:02d}.{ext}")
    (root / "synsets.txt").write_text("".join(f"{c} some description\n" for c in CLASSES))
    return root


def write_config(path: pathlib.Path, *, images_root: pathlib.Path, output: pathlib.Path,
                 weights: Sequence[str], delay: float = 0.0, n_samples: int = 2,
                 extra: Optional[Dict] = None, arch: str = "tiny_cnn") -> pathlib.Path:
    """A generation YAML for the tiny world: 32-px short side, 2 noise samples."""
    cfg = {
        "images": {"root": str(images_root), "synsets": str(images_root / "synsets.txt")},
        "output": str(output),
        "seed": 7,
        "resolution": {"short_side": 32},
        "explainer": {"engine": "batched", "n_samples": n_samples, "noise_amount": 0.1,
                      "batch_size": 1},
        "ensemble": [{"name": f"tiny{i}", "arch": f"{MODULE}:{arch}", "weights": w,
                      "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
                      "kwargs": {"delay": delay} if delay else {}}
                     for i, w in enumerate(weights)],
        "num_workers": 1,
        "progress": False,
        "max_failure_fraction": 0.0,
    }
    for key, value in (extra or {}).items():
        cfg[key] = value
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def tiny_world(root: pathlib.Path, per_class: int, *, weight_seeds: Sequence[int] = (0,),
               output: str = "out", extra: Optional[Dict] = None, **config) -> Dict:
    """The usual generator test world under ``root``: an image tree, one tiny classifier per
    seed of ``weight_seeds`` and ``root/gen.yml`` writing to ``root/<output>`` (no fsync).

    Returns:
        {"root", "imgs", "weights", "cfg"} (``cfg`` is the YAML's path).
    """
    write_image_tree(root / "imgs", per_class)
    weights = [save_tiny_weights(root / f"w{seed}.pdparams", len(CLASSES), seed=seed)
               for seed in weight_seeds]
    extra = dict(extra or {})
    extra["store"] = dict({"fsync": False}, **extra.get("store", {}))
    cfg = write_config(root / "gen.yml", images_root=root / "imgs", output=root / output,
                       weights=weights, extra=extra, **config)
    return {"root": root, "imgs": root / "imgs", "weights": weights, "cfg": cfg}


def load_into(cfg_path: pathlib.Path, output: pathlib.Path, *opts: str):
    """The validated config of ``cfg_path`` with ``opts`` applied, writing to ``output``."""
    from paddleseg_pssl.consensus.run import config as config_mod

    return config_mod.load_config(str(cfg_path), list(opts), {"output": str(output)})


def published_files(root: pathlib.Path) -> Dict[str, bytes]:
    """relpath -> bytes of everything a run publishes (manifest without its 'run' section)."""
    import json

    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_dir():
            continue
        data = path.read_bytes()
        if rel == "manifest.json":
            manifest = json.loads(data)
            manifest.pop("run")
            data = json.dumps(manifest, sort_keys=True).encode()
        out[rel] = data
    return out


def train_lines(root: pathlib.Path) -> List[str]:
    return (root / "train.txt").read_text().splitlines()


def failure_lines(root) -> List[tuple]:
    """(image relpath, reason) pairs of a merged failures.txt."""
    path = pathlib.Path(root) / "failures.txt"
    return [tuple(line.split("\t", 1)) for line in path.read_text().splitlines() if line.strip()]
