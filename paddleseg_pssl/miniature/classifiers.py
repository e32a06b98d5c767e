"""Small classifiers of three architectures, their training, and the ensemble description.

PSSL (arXiv 2207.03335) explains each image with an ensemble of M trained classifiers (the paper:
M = 15 ImageNet models; Consensus, arXiv 2109.00707: diverse architectures help). The demo trains
M >= 5 small ones of three families on the miniature classification set in a few CPU minutes:

* ``mini_vgg``: plain conv-BN-ReLU stages with max pooling;
* ``mini_resnet``: residual basic blocks; its trunk is the ``MiniResNet`` PaddleSeg backbone
  (``paddleseg_pssl.miniature.backbone``), so its weights initialise a segmentation backbone;
* ``mini_mobilenet``: MobileNetV2-style inverted residuals with depthwise convolutions.

Every net ends in global average pooling, so it takes any input size: PSSL explains images at
their own resolution and aspect. Inputs are RGB, scaled to [0, 1], then normalised with
``MEAN`` / ``STD`` (0.5 each, PaddleSeg's default ``Normalize``), NCHW float32.

Training reads any ImageNet-layout folder (``<root>/<split>/<class>/<image>``, class ids from
``<root>/synsets.txt`` or else the sorted folder names) into memory, resizes each image so its
short side is ``input_size`` keeping its aspect (long side rounded to a multiple of 16), and
batches images of the same size together (aspect buckets), so nothing is cropped or squashed.
"""
import json
import math
import os
import pathlib
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from paddleseg_pssl.miniature.backbone import (
    DOWNSAMPLE_MODES, MINI_RESNET_VARIANTS, ConvBNReLU, MiniResNetBackbone, blur_pool,
    check_downsample, stage_features)

MEAN: Tuple[float, float, float] = (0.5, 0.5, 0.5)
STD: Tuple[float, float, float] = (0.5, 0.5, 0.5)
DEFAULT_INPUT_SIZE: int = 64
#: Training epochs of the demo ensemble (see DEFAULT_MEMBERS).
DEFAULT_EPOCHS: int = 12
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
#: Long sides of aspect buckets are rounded to this multiple (the nets' total stride).
BUCKET_MULTIPLE: int = 16
MODULE = "paddleseg_pssl.miniature.classifiers"


# --------------------------------------------------------------------------------------------
# Architectures
# --------------------------------------------------------------------------------------------

class _ClassifierHead(nn.Layer):
    """Shared tail: global average pooling of the last feature map, then a linear layer."""

    fc: nn.Linear

    def forward_features(self, x: paddle.Tensor) -> List[paddle.Tensor]:
        raise NotImplementedError

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        """float32 (N, 3, H, W), normalised RGB -> float32 logits (N, num_classes)."""
        last = self.forward_features(x)[-1]
        return self.fc(paddle.flatten(F.adaptive_avg_pool2d(last, 1), 1))


class MiniVGG(_ClassifierHead):
    """VGG-style plain net: a strided 3x3 stem, then per stage a halving (not before the first)
    and `depths[i]` 3x3 conv-BN-ReLU layers; no residuals, no depthwise convolutions.

    ``downsample="stride"``: stride-2 stem, 2x2 max pooling; ``"blur"`` / ``"binomial"``:
    stride-1 stem and a parameter-free blur of stride 2 (``backbone.blur_pool``) everywhere.
    """

    def __init__(self, num_classes: int, widths: Sequence[int] = (16, 32, 64, 128),
                 depths: Sequence[int] = (1, 1, 2, 2), downsample: str = "stride"):
        super().__init__()
        blur = check_downsample(downsample) != "stride"
        self.stem = ConvBNReLU(3, widths[0], 3, stride=1 if blur else 2)
        self.stem_pool = blur_pool(downsample) if blur else None
        stages, previous = [], widths[0]
        for i, (width, depth) in enumerate(zip(widths, depths)):
            layers = [blur_pool(downsample) if blur else nn.MaxPool2D(2)] if i > 0 else []
            for _ in range(depth):
                layers.append(ConvBNReLU(previous, width))
                previous = width
            stages.append(nn.Sequential(*layers))
        self.stages = nn.LayerList(stages)
        self.fc = nn.Linear(previous, num_classes)

    def forward_features(self, x: paddle.Tensor) -> List[paddle.Tensor]:
        return stage_features(self, x)


class MiniResNetClassifier(MiniResNetBackbone, _ClassifierHead):
    """The MiniResNet backbone (same parameter names) + global average pooling + ``fc``."""

    def __init__(self, num_classes: int, **backbone_kwargs):
        super().__init__(**backbone_kwargs)
        self.fc = nn.Linear(self.feat_channels[-1], num_classes)

    forward = _ClassifierHead.forward


class InvertedResidual(nn.Layer):
    """MobileNetV2 block: 1x1 expand, 3x3 depthwise, 1x1 project; residual when shapes match.
    With ``downsample="blur"`` a stride-2 block blur-pools its input, then runs stride 1."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand: int,
                 downsample: str = "stride"):
        super().__init__()
        blur = check_downsample(downsample) != "stride" and stride != 1
        self.pool = blur_pool(downsample) if blur else None
        hidden = in_channels * expand
        self.block = nn.Sequential(
            ConvBNReLU(in_channels, hidden, 1),
            ConvBNReLU(hidden, hidden, 3, 1 if blur else stride, groups=hidden),
            ConvBNReLU(hidden, out_channels, 1, act=False))
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        if self.pool is not None:
            x = self.pool(x)
        y = self.block(x)
        return x + y if self.residual else y


class MiniMobileNet(_ClassifierHead):
    """MobileNetV2-style: strided stem, inverted residuals (`blocks` per stage), 1x1 conv to
    `last` channels."""

    def __init__(self, num_classes: int, widths: Sequence[int] = (16, 24, 32, 64),
                 strides: Sequence[int] = (1, 2, 2, 2), expand: int = 2, last: int = 128,
                 blocks: int = 1, downsample: str = "stride"):
        super().__init__()
        blur = check_downsample(downsample) != "stride"
        self.stem = ConvBNReLU(3, widths[0], 3, stride=1 if blur else 2)
        self.stem_pool = blur_pool(downsample) if blur else None
        stages, previous = [], widths[0]
        for width, stride in zip(widths, strides):
            stages.append(nn.Sequential(
                InvertedResidual(previous, width, stride, expand, downsample),
                *[InvertedResidual(width, width, 1, expand) for _ in range(blocks - 1)]))
            previous = width
        self.stages = nn.LayerList(stages)
        self.last = ConvBNReLU(previous, last, 1)
        self.fc = nn.Linear(last, num_classes)

    def forward_features(self, x: paddle.Tensor) -> List[paddle.Tensor]:
        features = stage_features(self, x)
        return features + [self.last(features[-1])]


def _scaled(widths: Sequence[int], width: int) -> Tuple[int, ...]:
    """Scale a width tuple so that its first entry is `width`."""
    return tuple(int(round(w * width / widths[0])) for w in widths)


def mini_vgg(num_classes: int, width: int = 16, depths: Sequence[int] = (1, 1, 2, 2),
             downsample: str = "blur") -> MiniVGG:
    """Factory ('module:factory' for the ensemble): MiniVGG with widths width * (1, 2, 4, 8)."""
    return MiniVGG(num_classes, _scaled((16, 32, 64, 128), width), tuple(depths), downsample)


def mini_resnet(num_classes: int, width: int = 16,
                depths: Sequence[int] = MINI_RESNET_VARIANTS["MiniResNet"]["depths"],
                downsample: str = MINI_RESNET_VARIANTS["MiniResNet"]["downsample"]
                ) -> MiniResNetClassifier:
    """Factory: MiniResNet trunk (widths width * (1, 2, 4, 8)) + classifier head.

    With the defaults its trunk is exactly the registered ``MiniResNet`` backbone.
    """
    return MiniResNetClassifier(num_classes, widths=_scaled((16, 32, 64, 128), width),
                                depths=tuple(depths), downsample=downsample)


def mini_mobilenet(num_classes: int, width: int = 16, expand: int = 2,
                   blocks: int = 1, downsample: str = "blur") -> MiniMobileNet:
    """Factory: MiniMobileNet with widths width * (1, 1.5, 2, 4) and a 8*width 1x1 last layer."""
    return MiniMobileNet(num_classes, _scaled((16, 24, 32, 64), width), expand=expand,
                         last=8 * width, blocks=blocks, downsample=downsample)


FACTORIES: Dict[str, Callable[..., nn.Layer]] = {
    "mini_vgg": mini_vgg, "mini_resnet": mini_resnet, "mini_mobilenet": mini_mobilenet}

#: The demo ensemble: M = 5 members of 3 architectures (name, factory, kwargs, seed offset,
#: optional `train` overrides of train_classifier's arguments), trained DEFAULT_EPOCHS epochs.
#: All use blur-pool downsampling (``backbone.DOWNSAMPLE_MODES``) and AdamW at lr 1e-2, batch
#: 64. Measured on the demo's set (1500 train images, 10 classes) against the first version
#: (stride-2 convolutions / max pooling, 8 epochs, lr 3e-3..1e-2, batch 32): val accuracy
#: 0.72 / 0.785 / 0.74 / 0.69 / 0.71 instead of 0.755 / 0.67 / 0.48 / 0.80 / 0.64, and the
#: top-decile precision of the SmoothGrad consensus (n = 50, abs_of_mean, 300 images) against
#: the true masks 0.62 instead of 0.53 (centred prior: 0.615).
#: ``mini_resnet_a`` is the member whose trunk initialises the MiniResNet backbone.
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


def build_classifier(arch: str, num_classes: int, **kwargs) -> nn.Layer:
    """Build by factory name ('mini_vgg') or 'module:factory' spec."""
    if ":" in arch:
        import importlib

        module, _, name = arch.partition(":")
        factory = getattr(importlib.import_module(module), name)
    elif arch in FACTORIES:
        factory = FACTORIES[arch]
    else:
        raise ValueError(f"arch {arch!r} is unknown; expected one of {sorted(FACTORIES)} or "
                         "'module:factory'")
    return factory(num_classes=num_classes, **kwargs)


# --------------------------------------------------------------------------------------------
# Data: any ImageNet-layout folder, in memory, aspect-bucketed
# --------------------------------------------------------------------------------------------

def read_class_names(data_root: Union[str, os.PathLike], split: str = "train") -> List[str]:
    """Class names in id order: ``synsets.txt`` if present, else the sorted class folders."""
    root = pathlib.Path(data_root)
    synsets = root / "synsets.txt"
    if synsets.is_file():
        with open(synsets, encoding="utf-8") as f:
            names = [line.split()[0] for line in f if line.strip()]
    else:
        split_dir = root / split
        if not split_dir.is_dir():
            raise ValueError(f"data_root {str(root)!r} has neither synsets.txt nor a {split!r} "
                             "folder; expected <root>/<split>/<class>/<image> (ImageNet layout)")
        names = sorted(p.name for p in split_dir.iterdir() if p.is_dir())
    if not names:
        raise ValueError(f"data_root {str(root)!r}: no classes found")
    return names


def bucket_size(height: int, width: int, input_size: int,
                multiple: int = BUCKET_MULTIPLE) -> Tuple[int, int]:
    """(h, w) of an image resized to short side `input_size`, long side rounded to `multiple`."""
    scale = input_size / min(height, width)
    long_side = max(height, width) * scale
    long_side = min(max(int(round(long_side / multiple)) * multiple, input_size), 2 * input_size)
    return (input_size, long_side) if height <= width else (long_side, input_size)


def load_image_folder(data_root: Union[str, os.PathLike], split: str,
                      class_names: Sequence[str], input_size: int = DEFAULT_INPUT_SIZE
                      ) -> Dict[Tuple[int, int], Tuple[np.ndarray, np.ndarray]]:
    """Decode every image of ``<root>/<split>/<class>/`` into aspect buckets.

    Returns:
        {(h, w): (uint8 RGB images (N, h, w, 3), int64 class ids (N,))}, in a stable order.
    """
    split_dir = pathlib.Path(data_root) / split
    if not split_dir.is_dir():
        raise ValueError(f"split folder {str(split_dir)!r} does not exist; expected "
                         "<data_root>/<split>/<class>/<image>")
    buckets: Dict[Tuple[int, int], Tuple[List[np.ndarray], List[int]]] = {}
    for class_id, name in enumerate(class_names):
        class_dir = split_dir / name
        if not class_dir.is_dir():
            continue
        for path in sorted(class_dir.iterdir()):
            if path.suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if bgr is None:
                raise ValueError(f"image {str(path)!r} could not be decoded")
            size = bucket_size(bgr.shape[0], bgr.shape[1], input_size)
            if bgr.shape[:2] != size:
                bgr = cv2.resize(bgr, (size[1], size[0]), interpolation=cv2.INTER_AREA)
            images, labels = buckets.setdefault(size, ([], []))
            images.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            labels.append(class_id)
    if not buckets:
        raise ValueError(f"split folder {str(split_dir)!r} holds no images of the classes "
                         f"{list(class_names)[:5]}...")
    return {size: (np.stack(imgs), np.int64(labels))
            for size, (imgs, labels) in sorted(buckets.items())}


def to_tensor(images: np.ndarray) -> paddle.Tensor:
    """uint8 RGB (N, H, W, 3) -> normalised float32 (N, 3, H, W)."""
    x = images.astype(np.float32) / 255.0
    x = (x - np.float32(MEAN)) / np.float32(STD)
    return paddle.to_tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def _augment(rng: np.random.Generator, images: np.ndarray, pad: int = 4) -> np.ndarray:
    """Class-preserving augmentation of a same-size batch: flips, 90-degree turns (whole batch,
    so the batch keeps one size), channel permutations (colour is not a class cue), shifts."""
    n, h, w, _ = images.shape
    out = images.copy()
    flip_h = rng.random(n) < 0.5
    out[flip_h] = out[flip_h, :, ::-1]
    flip_v = rng.random(n) < 0.5
    out[flip_v] = out[flip_v, ::-1]
    for i in range(n):
        out[i] = out[i][..., rng.permutation(3)]
    padded = np.pad(out, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
    dy, dx = rng.integers(0, 2 * pad + 1, 2)
    out = padded[:, dy:dy + h, dx:dx + w]
    k = int(rng.integers(4))
    return np.ascontiguousarray(np.rot90(out, k, axes=(1, 2)))


def _batches(rng: np.random.Generator, buckets, batch_size: int, shuffle: bool):
    """(images, labels) batches, each from one bucket; bucket-internal and batch order shuffled."""
    batches = []
    for images, labels in buckets.values():
        order = rng.permutation(len(labels)) if shuffle else np.arange(len(labels))
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            if shuffle and len(idx) < 2:  # BatchNorm needs 2 samples
                continue
            batches.append((images[idx], labels[idx]))
    if shuffle:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


@paddle.no_grad()
def evaluate(model: nn.Layer, buckets, batch_size: int = 128) -> Dict[str, float]:
    """Top-1 accuracy and mean cross entropy of `model` (eval mode) on bucketed images."""
    model.eval()
    correct, total, loss_sum = 0, 0, 0.0
    for images, labels in _batches(np.random.default_rng(0), buckets, batch_size, False):
        logits = model(to_tensor(images))
        target = paddle.to_tensor(labels)
        loss_sum += float(F.cross_entropy(logits, target, reduction="sum"))
        correct += int((logits.argmax(axis=1) == target).astype("int64").sum())
        total += len(labels)
    return {"accuracy": correct / total, "loss": loss_sum / total, "images": total}


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------

def train_classifier(arch_factory: Union[str, Callable[..., nn.Layer]],
                     data_root: Union[str, os.PathLike], out_path: Union[str, os.PathLike],
                     epochs: int = 12, seed: int = 0, kwargs: Optional[Dict[str, Any]] = None,
                     batch_size: int = 32, learning_rate: float = 3e-3,
                     weight_decay: float = 1e-4, input_size: int = DEFAULT_INPUT_SIZE,
                     train_split: str = "train", val_split: Optional[str] = "val",
                     max_images: Optional[int] = None, optimizer_name: str = "adamw",
                     progress: bool = True,
                     desc: Optional[str] = None, _data=None) -> Dict[str, Any]:
    """Train one classifier on an ImageNet-layout folder and save its weights.

    AdamW with a linear warm-up (first epoch) then cosine decay; cross entropy; the augmentation
    of `_augment`. Deterministic given `seed` (paddle.seed for the initialisation, a numpy
    generator for the order and the augmentation) up to CPU kernel threading.

    Args:
        arch_factory: a callable taking ``num_classes=`` plus `kwargs`, a FACTORIES name, or
            'module:factory'.
        data_root: ``<root>/<split>/<class>/<image>``, classes from synsets.txt or folders.
        out_path: the ``.pdparams`` file to write (a ``.json`` of metrics is written beside it).
        epochs, seed, batch_size, learning_rate, weight_decay: the schedule.
        kwargs: keyword arguments of the factory.
        input_size: short side the images are resized to (aspect kept).
        val_split: held-out split for accuracy (skipped when None or absent).
        max_images: keep only the first images of the shuffled training set (tests).

    Returns:
        Metrics: val_accuracy (None without val split), train_accuracy, first/last epoch loss,
        seconds, parameter count, and the settings.
    """
    kwargs = dict(kwargs or {})
    class_names = read_class_names(data_root, train_split)
    if _data is not None:
        train_buckets, val_buckets = _data
    else:
        train_buckets = load_image_folder(data_root, train_split, class_names, input_size)
        val_buckets = None
        if val_split and (pathlib.Path(data_root) / val_split).is_dir():
            val_buckets = load_image_folder(data_root, val_split, class_names, input_size)
    if max_images is not None:
        train_buckets = _subsample(train_buckets, max_images, seed)

    paddle.seed(seed)
    rng = np.random.default_rng(seed)
    if isinstance(arch_factory, str):
        model = build_classifier(arch_factory, len(class_names), **kwargs)
    else:
        model = arch_factory(num_classes=len(class_names), **kwargs)
    if optimizer_name == "adamw":
        optimizer = paddle.optimizer.AdamW(learning_rate=learning_rate,
                                           parameters=model.parameters(),
                                           weight_decay=weight_decay)
    elif optimizer_name == "momentum":
        optimizer = paddle.optimizer.Momentum(learning_rate=learning_rate, momentum=0.9,
                                              parameters=model.parameters(),
                                              weight_decay=weight_decay, use_nesterov=True)
    else:
        raise ValueError(f"optimizer_name {optimizer_name!r}: expected 'adamw' or 'momentum'")
    steps_per_epoch = len(_batches(np.random.default_rng(0), train_buckets, batch_size, True))
    total_steps = max(1, epochs * steps_per_epoch)
    warmup = max(1, min(steps_per_epoch, total_steps // 5))

    from tqdm import tqdm

    bar = tqdm(total=total_steps, desc=desc or "train", disable=not progress, leave=False)
    start = time.perf_counter()
    step, epoch_losses = 0, []
    for _epoch in range(epochs):
        model.train()
        losses = []
        for images, labels in _batches(rng, train_buckets, batch_size, True):
            lr = learning_rate * min(1.0, (step + 1) / warmup) * \
                0.5 * (1.0 + math.cos(math.pi * step / total_steps))
            optimizer.set_lr(lr)
            logits = model(to_tensor(_augment(rng, images)))
            loss = F.cross_entropy(logits, paddle.to_tensor(labels))
            loss.backward()
            optimizer.step()
            optimizer.clear_grad()
            losses.append(float(loss))
            step += 1
            bar.update()
            bar.set_postfix(loss=f"{np.mean(losses[-10:]):.3f}")
        epoch_losses.append(float(np.mean(losses)))
    bar.close()
    seconds = time.perf_counter() - start

    out_path = pathlib.Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    paddle.save(model.state_dict(), str(tmp))
    os.replace(tmp, out_path)
    metrics = {
        "val_accuracy": evaluate(model, val_buckets)["accuracy"] if val_buckets else None,
        "train_accuracy": evaluate(model, train_buckets)["accuracy"],
        "first_epoch_loss": epoch_losses[0] if epoch_losses else None,
        "last_epoch_loss": epoch_losses[-1] if epoch_losses else None,
        "epoch_losses": epoch_losses, "seconds": round(seconds, 2),
        "parameters": int(sum(int(np.prod(p.shape)) for p in model.parameters())),
        "num_classes": len(class_names), "chance": 1.0 / len(class_names),
        "settings": {"epochs": epochs, "seed": seed, "batch_size": batch_size,
                     "learning_rate": learning_rate, "weight_decay": weight_decay,
                     "input_size": input_size, "kwargs": kwargs, "max_images": max_images},
    }
    with open(out_path.with_suffix(".json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=1)
    return metrics


def _subsample(buckets, max_images: int, seed: int):
    """The first `max_images` images of a seeded shuffle, kept in their buckets."""
    sizes = [s for s, (_, labels) in buckets.items() for _ in labels]
    index = [i for _, (_, labels) in buckets.items() for i in range(len(labels))]
    keep = np.random.default_rng(seed).permutation(len(sizes))[:max_images]
    out = {}
    for size in buckets:
        idx = sorted(index[k] for k in keep if sizes[k] == size)
        if idx:
            images, labels = buckets[size]
            out[size] = (images[idx], labels[idx])
    return out


def ensemble_entry(member: Dict[str, Any], weights: Union[str, os.PathLike],
                   input_size: int = DEFAULT_INPUT_SIZE) -> Dict[str, Any]:
    """One item of the generator's ``ensemble:`` list (``paddleseg_pssl.consensus.ensemble``).

    No ``num_classes``: the generator takes the class count from the dataset's class list and
    rejects the key. ``mean``/``std`` are on the 0..1 scale, RGB; ``input_size`` is the short
    side the classifier was trained at (with ``resize: keep_aspect`` the generator feeds the
    explanation-resolution image as is, so explain at short side ``input_size``).
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


def train_ensemble(data_root: Union[str, os.PathLike], out_dir: Union[str, os.PathLike],
                   seed: int = 0, members: Sequence[Dict[str, Any]] = DEFAULT_MEMBERS,
                   epochs: int = DEFAULT_EPOCHS, input_size: int = DEFAULT_INPUT_SIZE,
                   progress: bool = True, workers: Optional[int] = None,
                   **train_kwargs) -> List[Dict[str, Any]]:
    """Train every member (or reuse its weights when trained with the same settings).

    Members are dicts: name, factory (a FACTORIES name), kwargs, seed_offset, and optionally
    ``train`` (overrides of train_classifier's keyword arguments, e.g. learning_rate).
    Writes ``<out_dir>/<name>.pdparams`` and ``<name>.json`` (metrics) per member, then
    ``<out_dir>/ensemble.json``: the list of ensemble items (``ensemble_entry``), each with
    absolute weight paths, plus its metrics under ``metrics.json``.

    ``workers``: members trained at once, each in its own (spawned) process; None =
    ``default_workers()``, 1 = in this process. The weights do not depend on it (each member
    is seeded by itself), up to CPU kernel threading.

    Returns:
        The ensemble items, in member order.
    """
    out_dir = pathlib.Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    class_names = read_class_names(data_root)
    all_metrics: Dict[str, Dict[str, Any]] = {}
    jobs: Dict[str, Dict[str, Any]] = {}
    for member in members:
        weights = out_dir / f"{member['name']}.pdparams"
        metrics_path = weights.with_suffix(".json")
        overrides = {**train_kwargs, **member.get("train", {})}
        settings = {"epochs": epochs, "seed": seed + member.get("seed_offset", 0),
                    "input_size": input_size, "kwargs": dict(member.get("kwargs", {})),
                    **{k: v for k, v in overrides.items()
                       if k in ("learning_rate", "batch_size", "weight_decay")}}
        if weights.is_file() and metrics_path.is_file():
            with open(metrics_path, encoding="utf-8") as f:
                previous = json.load(f)
            if all(previous["settings"].get(k) == v for k, v in settings.items()):
                all_metrics[member["name"]] = previous
                continue
        jobs[member["name"]] = dict(arch_factory=member["factory"], data_root=str(data_root),
                                    out_path=str(weights), epochs=epochs, seed=settings["seed"],
                                    kwargs=settings["kwargs"], input_size=input_size,
                                    desc=member["name"], **overrides)
    workers = default_workers() if workers is None else int(workers)
    from tqdm import tqdm

    if jobs and workers > 1 and len(jobs) > 1:
        # Fresh interpreters (not multiprocessing): no fork of an initialised Paddle, and no
        # re-import of the caller's main module, so scripts need no __main__ guard.
        import subprocess
        import sys

        names, running = list(jobs), []
        bar = tqdm(total=len(names), desc="classifiers", disable=not progress)
        code = ("import json, sys; from paddleseg_pssl.miniature.classifiers import "
                "_train_member_job; _train_member_job(json.loads(sys.argv[1]))")
        while names or running:
            while names and len(running) < workers:
                name = names.pop(0)
                running.append((name, subprocess.Popen(
                    [sys.executable, "-c", code, json.dumps(jobs[name])],
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)))
            done = [r for r in running if r[1].poll() is not None]
            if not done:
                time.sleep(0.2)
                continue
            name, proc = done[0]
            running.remove(done[0])
            err = proc.stderr.read()
            if proc.returncode:
                for _, other in running:
                    other.kill()
                raise RuntimeError(f"training {name} failed (exit {proc.returncode}): "
                                   f"{err.decode(errors='replace')[-2000:]}")
            with open(pathlib.Path(jobs[name]["out_path"]).with_suffix(".json"),
                      encoding="utf-8") as f:
                all_metrics[name] = json.load(f)
            bar.update()
        bar.close()
    elif jobs:
        train = load_image_folder(data_root, "train", class_names, input_size)
        val_dir = pathlib.Path(data_root) / "val"
        val = load_image_folder(data_root, "val", class_names, input_size) \
            if val_dir.is_dir() else None
        for name in tqdm(list(jobs), desc="classifiers", disable=not progress):
            all_metrics[name] = train_classifier(**jobs[name], progress=progress,
                                                 _data=(train, val))
    entries = [ensemble_entry(m, out_dir / f"{m['name']}.pdparams", input_size)
               for m in members]
    all_metrics = {m["name"]: all_metrics[m["name"]] for m in members}
    with open(out_dir / "ensemble.json", "w", encoding="utf-8") as f:
        json.dump(entries, f, indent=1)
    with open(out_dir / "metrics.json", "w", encoding="utf-8") as f:
        json.dump(all_metrics, f, indent=1)
    return entries
