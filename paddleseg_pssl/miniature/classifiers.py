"""Training of the miniature classifiers, one or the demo's whole ensemble (PSSL, arXiv 2207.03335).

Trains small classifiers (:mod:`.nets`) on any ImageNet-layout folder (:mod:`.image_folder`) in a
few CPU minutes and writes the ``ensemble:`` items the generator reads; they name each factory
``'paddleseg_pssl.miniature.classifiers:<factory>'`` (``MODULE``), so they are importable here.
"""
import json
import math
import os
import pathlib
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from tqdm import tqdm

from paddleseg_pssl.miniature.image_folder import (
    DEFAULT_INPUT_SIZE, MEAN, STD, Buckets, augment, batches, folder_class_names,
    load_image_folder, subsample, to_tensor)
from paddleseg_pssl.miniature.nets import (  # noqa: F401  (factories named by MODULE)
    FACTORIES, build_classifier, mini_mobilenet, mini_resnet, mini_vgg)

#: Training epochs of the demo ensemble (see DEFAULT_MEMBERS).
DEFAULT_EPOCHS: int = 12
MODULE = "paddleseg_pssl.miniature.classifiers"
#: Held-out images scored per forward pass.
EVAL_BATCH_SIZE: int = 128
#: Momentum of the ``"momentum"`` optimiser (Nesterov).
MOMENTUM: float = 0.9
#: The warm-up lasts one epoch, but at most 1 / WARMUP_DIVISOR of all steps.
WARMUP_DIVISOR: int = 5
#: Seconds between polls of the member-training processes.
POLL_SECONDS: float = 0.2
#: Characters of a failed member process's stderr quoted in the error.
STDERR_TAIL: int = 2000
#: Keys of a member's training settings that decide whether its saved weights are reused.
REUSE_KEYS: Tuple[str, ...] = ("learning_rate", "batch_size", "weight_decay")

#: The demo ensemble: M = 5 members of 3 architectures (name, factory, kwargs, seed offset,
#: optional `train` overrides of train_classifier's arguments), blur-pool downsampling and AdamW
#: at lr 1e-2, batch 64: on the demo's set their consensus's top decile is more precise (0.62)
#: than with strided downsampling (0.53). ``mini_resnet_a``'s trunk initialises MiniResNet.
_TRAIN = {"learning_rate": 1e-2, "batch_size": 64}
DEFAULT_MEMBERS: Tuple[Dict[str, Any], ...] = (
    {"name": "mini_vgg_a", "factory": "mini_vgg", "kwargs": {"width": 16, "downsample": "blur"},
     "seed_offset": 0, "train": dict(_TRAIN)},
    {"name": "mini_resnet_a", "factory": "mini_resnet", "kwargs": {"downsample": "blur"},
     "seed_offset": 1, "train": dict(_TRAIN)},
    {"name": "mini_mobilenet_a", "factory": "mini_mobilenet",
     "kwargs": {"width": 16, "downsample": "blur"}, "seed_offset": 2, "train": dict(_TRAIN)},
    {"name": "mini_vgg_b", "factory": "mini_vgg", "kwargs": {"width": 24, "downsample": "blur"},
     "seed_offset": 3, "train": dict(_TRAIN)},
    {"name": "mini_resnet_b", "factory": "mini_resnet",
     "kwargs": {"width": 24, "downsample": "blur"}, "seed_offset": 4, "train": dict(_TRAIN)},
)
BACKBONE_MEMBER: str = "mini_resnet_a"
BACKBONE_NAME: str = "MiniResNet"


@paddle.no_grad()
def classifier_accuracy(model: nn.Layer, buckets: Buckets,
                        batch_size: int = EVAL_BATCH_SIZE) -> float:
    """Top-1 accuracy of `model` (eval mode) on bucketed images."""
    model.eval()
    correct, total = 0, 0
    for images, labels in batches(np.random.default_rng(0), buckets, batch_size, False):
        logits = model(to_tensor(images))
        correct += int((logits.argmax(axis=1) == paddle.to_tensor(labels)).astype("int64").sum())
        total += len(labels)
    return correct / total


def _load_splits(data_root: Union[str, os.PathLike], class_names: Sequence[str],
                 train_split: str, val_split: Optional[str], input_size: int
                 ) -> Tuple[Buckets, Optional[Buckets]]:
    """(train buckets, val buckets or None when there is no val split)."""
    train = load_image_folder(data_root, train_split, class_names, input_size)
    val = None
    if val_split and (pathlib.Path(data_root) / val_split).is_dir():
        val = load_image_folder(data_root, val_split, class_names, input_size)
    return train, val


def _make_optimizer(name: str, model: nn.Layer, learning_rate: float,
                    weight_decay: float) -> paddle.optimizer.Optimizer:
    if name == "adamw":
        return paddle.optimizer.AdamW(learning_rate=learning_rate,
                                      parameters=model.parameters(), weight_decay=weight_decay)
    if name == "momentum":
        return paddle.optimizer.Momentum(learning_rate=learning_rate, momentum=MOMENTUM,
                                         parameters=model.parameters(),
                                         weight_decay=weight_decay, use_nesterov=True)
    raise ValueError(f"optimizer_name {name!r}: expected 'adamw' or 'momentum'")


def _fit(model: nn.Layer, optimizer: paddle.optimizer.Optimizer, rng: np.random.Generator,
         train_buckets: Buckets, epochs: int, batch_size: int, learning_rate: float,
         progress: bool, desc: str) -> List[float]:
    """Train `model` in place: linear warm-up (first epoch) then cosine decay, cross entropy,
    the augmentation of `augment`. Returns the mean loss of every epoch."""
    steps_per_epoch = len(batches(np.random.default_rng(0), train_buckets, batch_size, True))
    total_steps = max(1, epochs * steps_per_epoch)
    warmup = max(1, min(steps_per_epoch, total_steps // WARMUP_DIVISOR))
    bar = tqdm(total=total_steps, desc=desc, disable=not progress, leave=False)
    step, epoch_losses = 0, []
    for _epoch in range(epochs):
        model.train()
        losses = []
        for images, labels in batches(rng, train_buckets, batch_size, True):
            optimizer.set_lr(learning_rate * min(1.0, (step + 1) / warmup) *
                             0.5 * (1.0 + math.cos(math.pi * step / total_steps)))
            loss = F.cross_entropy(model(to_tensor(augment(rng, images))),
                                   paddle.to_tensor(labels))
            loss.backward()
            optimizer.step()
            optimizer.clear_grad()
            losses.append(float(loss))
            step += 1
            bar.update()
            bar.set_postfix(loss=f"{np.mean(losses[-10:]):.3f}")
        epoch_losses.append(float(np.mean(losses)))
    bar.close()
    return epoch_losses


def train_classifier(arch_factory: Union[str, Callable[..., nn.Layer]],
                     data_root: Union[str, os.PathLike], out_path: Union[str, os.PathLike],
                     epochs: int = DEFAULT_EPOCHS, seed: int = 0,
                     kwargs: Optional[Dict[str, Any]] = None,
                     batch_size: int = 32, learning_rate: float = 3e-3,
                     weight_decay: float = 1e-4, input_size: int = DEFAULT_INPUT_SIZE,
                     train_split: str = "train", val_split: Optional[str] = "val",
                     max_images: Optional[int] = None, optimizer_name: str = "adamw",
                     progress: bool = True, desc: Optional[str] = None,
                     _data=None) -> Dict[str, Any]:
    """Train one classifier on ``<data_root>/<split>/<class>/<image>`` and save its weights to
    ``out_path`` (``.pdparams``), the returned metrics beside it (``.json``).

    Deterministic given `seed` (initialisation, order, augmentation) up to CPU kernel threading.
    ``arch_factory``: a FACTORIES name or a callable taking ``num_classes=`` plus ``kwargs``;
    ``max_images``: keep only the first images of the shuffled training set (tests).
    """
    kwargs = dict(kwargs or {})
    class_names = folder_class_names(data_root, train_split)
    train_buckets, val_buckets = _data if _data is not None else _load_splits(
        data_root, class_names, train_split, val_split, input_size)
    if max_images is not None:
        train_buckets = subsample(train_buckets, max_images, seed)
    paddle.seed(seed)
    if isinstance(arch_factory, str):
        model = build_classifier(arch_factory, len(class_names), **kwargs)
    else:
        model = arch_factory(num_classes=len(class_names), **kwargs)
    optimizer = _make_optimizer(optimizer_name, model, learning_rate, weight_decay)
    start = time.perf_counter()
    epoch_losses = _fit(model, optimizer, np.random.default_rng(seed), train_buckets, epochs,
                        batch_size, learning_rate, progress, desc or "train")
    seconds = time.perf_counter() - start
    out_path = pathlib.Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")  # a killed run leaves no half-written weights
    paddle.save(model.state_dict(), str(tmp))
    os.replace(tmp, out_path)
    num_classes = len(class_names)
    metrics = {
        "val_accuracy": classifier_accuracy(model, val_buckets) if val_buckets else None,
        "train_accuracy": classifier_accuracy(model, train_buckets),
        "first_epoch_loss": epoch_losses[0] if epoch_losses else None,
        "last_epoch_loss": epoch_losses[-1] if epoch_losses else None,
        "epoch_losses": epoch_losses, "seconds": round(seconds, 2),
        "parameters": int(sum(int(np.prod(p.shape)) for p in model.parameters())),
        "num_classes": num_classes, "chance": 1.0 / num_classes,
        "settings": {"epochs": epochs, "seed": seed, "batch_size": batch_size,
                     "learning_rate": learning_rate, "weight_decay": weight_decay,
                     "input_size": input_size, "kwargs": kwargs, "max_images": max_images},
    }
    with open(out_path.with_suffix(".json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=1)
    return metrics


def ensemble_entry(member: Dict[str, Any], weights: Union[str, os.PathLike],
                   input_size: int = DEFAULT_INPUT_SIZE) -> Dict[str, Any]:
    """One item of the generator's ``ensemble:`` list (``consensus.explain.ensemble``); no
    ``num_classes``, which the generator takes from the class list. ``input_size`` is the short
    side trained at: explain at that short side (``keep_aspect`` feeds the image as is).
    """
    return {"name": member["name"], "arch": f"{MODULE}:{member['factory']}",
            "weights": str(weights), "input_size": input_size, "mean": list(MEAN),
            "std": list(STD), "resize": "keep_aspect", "kwargs": dict(member.get("kwargs", {}))}


def _train_member_job(job: Dict[str, Any]) -> Dict[str, Any]:
    """One member's training in a worker process (``train_ensemble(workers > 1)``)."""
    return train_classifier(**job, progress=False)


def default_workers() -> int:
    """Parallel member trainings: one per core, at most 2. On CPU, Paddle trains these small
    nets on one core (measured: 100 % of one core of two), so two processes halve the time."""
    return max(1, min(2, os.cpu_count() or 1))


def _member_job(member: Dict[str, Any], data_root: Union[str, os.PathLike],
                out_dir: pathlib.Path, seed: int, epochs: int, input_size: int,
                train_kwargs: Dict[str, Any]) -> Tuple[Dict[str, Any], Optional[Dict[str, Any]]]:
    """(train_classifier's keyword arguments for `member`, its saved metrics when its weights
    were trained with the same settings and can be reused, else None)."""
    weights = out_dir / f"{member['name']}.pdparams"
    overrides = {**train_kwargs, **member.get("train", {})}
    settings = {"epochs": epochs, "seed": seed + member.get("seed_offset", 0),
                "input_size": input_size, "kwargs": dict(member.get("kwargs", {})),
                **{k: v for k, v in overrides.items() if k in REUSE_KEYS}}
    job = dict(arch_factory=member["factory"], data_root=str(data_root), out_path=str(weights),
               epochs=epochs, seed=settings["seed"], kwargs=settings["kwargs"],
               input_size=input_size, desc=member["name"], **overrides)
    metrics_path = weights.with_suffix(".json")
    if weights.is_file() and metrics_path.is_file():
        with open(metrics_path, encoding="utf-8") as f:
            previous = json.load(f)
        if all(previous["settings"].get(k) == v for k, v in settings.items()):
            return job, previous
    return job, None


def _train_in_processes(jobs: Dict[str, Dict[str, Any]], workers: int,
                        progress: bool) -> Dict[str, Dict[str, Any]]:
    """Train each job in a fresh interpreter, `workers` at a time; name -> metrics.

    Not multiprocessing: no fork of an initialised Paddle, and no re-import of the caller's
    main module, so scripts need no __main__ guard.
    """
    code = (f"import json, sys; from {MODULE} import _train_member_job; "
            "_train_member_job(json.loads(sys.argv[1]))")
    names, running, metrics = list(jobs), [], {}
    bar = tqdm(total=len(names), desc="classifiers", disable=not progress)
    while names or running:
        while names and len(running) < workers:
            name = names.pop(0)
            running.append((name, subprocess.Popen(
                [sys.executable, "-c", code, json.dumps(jobs[name])],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)))
        done = [r for r in running if r[1].poll() is not None]
        if not done:
            time.sleep(POLL_SECONDS)
            continue
        name, proc = done[0]
        running.remove(done[0])
        err = proc.stderr.read()
        if proc.returncode:
            for _, other in running:
                other.kill()
            raise RuntimeError(f"training {name} failed (exit {proc.returncode}): "
                               f"{err.decode(errors='replace')[-STDERR_TAIL:]}")
        with open(pathlib.Path(jobs[name]["out_path"]).with_suffix(".json"),
                  encoding="utf-8") as f:
            metrics[name] = json.load(f)
        bar.update()
    bar.close()
    return metrics


def _train_in_process(jobs: Dict[str, Dict[str, Any]], data_root: Union[str, os.PathLike],
                      input_size: int, progress: bool) -> Dict[str, Dict[str, Any]]:
    """Train each job here, one after the other, on one in-memory copy of the data."""
    data = _load_splits(data_root, folder_class_names(data_root), "train", "val", input_size)
    return {name: train_classifier(**jobs[name], progress=progress, _data=data)
            for name in tqdm(list(jobs), desc="classifiers", disable=not progress)}


def train_ensemble(data_root: Union[str, os.PathLike], out_dir: Union[str, os.PathLike],
                   seed: int = 0, members: Sequence[Dict[str, Any]] = DEFAULT_MEMBERS,
                   epochs: int = DEFAULT_EPOCHS, input_size: int = DEFAULT_INPUT_SIZE,
                   progress: bool = True, workers: Optional[int] = None,
                   **train_kwargs) -> List[Dict[str, Any]]:
    """Train every member (or reuse its weights when trained with the same settings); returns
    the ensemble items in member order.

    Members are dicts as in DEFAULT_MEMBERS (``train``: overrides of train_classifier's keyword
    arguments). Writes ``<out_dir>/<name>.pdparams`` and ``<name>.json`` per member, then
    ``ensemble.json`` (the items, absolute weight paths) and ``metrics.json``.
    ``workers``: members trained at once, each in its own process (None: default_workers(),
    1: in this process); each member is seeded by itself, so the weights do not depend on it.
    """
    out_dir = pathlib.Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    folder_class_names(data_root)  # fails early on a folder without classes
    all_metrics: Dict[str, Dict[str, Any]] = {}
    jobs: Dict[str, Dict[str, Any]] = {}
    for member in members:
        job, reused = _member_job(member, data_root, out_dir, seed, epochs, input_size,
                                  train_kwargs)
        if reused is not None:
            all_metrics[member["name"]] = reused
        else:
            jobs[member["name"]] = job
    workers = default_workers() if workers is None else int(workers)
    if jobs and workers > 1 and len(jobs) > 1:
        all_metrics.update(_train_in_processes(jobs, workers, progress))
    elif jobs:
        all_metrics.update(_train_in_process(jobs, data_root, input_size, progress))
    entries = [ensemble_entry(m, out_dir / f"{m['name']}.pdparams", input_size)
               for m in members]
    with open(out_dir / "ensemble.json", "w", encoding="utf-8") as f:
        json.dump(entries, f, indent=1)
    with open(out_dir / "metrics.json", "w", encoding="utf-8") as f:
        json.dump({m["name"]: all_metrics[m["name"]] for m in members}, f, indent=1)
    return entries
