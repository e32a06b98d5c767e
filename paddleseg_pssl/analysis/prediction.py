"""A PSSL-pretrained model as a 1000-class segmenter and as a classifier (arXiv 2207.03335).

Section 6.2 / Figure 3: the model segments any image into all pre-training classes +
background. Section 6.1: it classifies by the per-pixel softmax averaged over the image,
background dropped (77.6% ImageNet top-1 after 30 epochs in the paper). A PSSL model has C + 1
outputs: the C object classes in ``synsets.txt`` order, background at ``background_index``
(default the last, as PSSL's labels have it), the object classes filling the other channels.
"""
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import paddle
from paddleseg.core import infer
from paddleseg.transforms import Compose, Resize

from paddleseg_pssl.constants import IMAGE_EXTENSIONS
from paddleseg_pssl.errors import PSSLConfigError
from paddleseg_pssl.training.builder import PSSLSegBuilder, output_class_count
from paddleseg_pssl.training.config_checks import validate_components
from paddleseg_pssl.training.config_loading import check_checkpoint_file, load_config
from paddleseg_pssl.weights import load_weights

BACKGROUND_NAME = "background"


def resolve_background_index(num_channels: int, background_index: int = -1) -> int:
    """The background channel as a non-negative index (-1 = the last channel)."""
    b = background_index + num_channels if background_index < 0 else background_index
    if not 0 <= b < num_channels:
        raise PSSLConfigError(f"background_index {background_index} is out of range for a "
                              f"model with {num_channels} outputs")
    return b


def object_channels(num_channels: int, background_index: Optional[int] = -1) -> np.ndarray:
    """Channel of each object class, in class order: every channel but the background (None:
    the model has none, as a fine-tuned one)."""
    if background_index is None:
        return np.arange(num_channels, dtype=np.int64)
    b = resolve_background_index(num_channels, background_index)
    return np.array([c for c in range(num_channels) if c != b], dtype=np.int64)


def check_class_count(num_channels: int, num_object_classes: int, source: str) -> None:
    """A PSSL model has one output per object class plus background."""
    if num_channels != num_object_classes + 1:
        raise PSSLConfigError(
            f"the model has {num_channels} outputs but {source} lists {num_object_classes} "
            f"classes; expected {num_object_classes + 1} outputs (classes + background). "
            "Use the synsets.txt of the PSSL folder the model was pre-trained on")


def softmax(logits: np.ndarray, axis: int = 0) -> np.ndarray:
    """Numerically stable softmax of a float array."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)


def image_class_scores(probs: np.ndarray, background_index: Optional[int] = -1) -> np.ndarray:
    """Section 6.1: (C,) float32 mean pixel probability of every object class of (C+1)xHxW
    per-pixel softmax ``probs``, in class order; argmax is the top-1 class."""
    probs = np.asarray(probs)
    if probs.ndim != 3:
        raise ValueError(f"probs must be (channels, H, W), got shape {probs.shape}")
    mean = probs.reshape(probs.shape[0], -1).mean(axis=1)
    return mean[object_channels(probs.shape[0], background_index)].astype(np.float32)


def top_k_classes(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores, best first (ties: lower index first)."""
    scores = np.asarray(scores)
    return np.lexsort((np.arange(scores.size), -scores))[:int(k)]


def legend_entries(pred: np.ndarray, names: Sequence[str],
                   background_index: Optional[int] = -1,
                   top_k: int = 8) -> List[Tuple[int, str, float]]:
    """(channel, name, pixel share) of the ``top_k`` object classes (``names``, in class
    order) covering most pixels, none without a pixel; background, when present, last."""
    num_channels = len(names) + (0 if background_index is None else 1)
    b = None if background_index is None else \
        resolve_background_index(num_channels, background_index)
    counts = np.bincount(np.asarray(pred, dtype=np.int64).ravel(), minlength=num_channels)
    shares = counts / max(1, counts.sum())
    obj = object_channels(num_channels, b)
    order = top_k_classes(shares[obj], top_k)
    entries = [(int(obj[i]), names[i], float(shares[obj[i]])) for i in order
               if shares[obj[i]] > 0]
    if b is not None and shares[b] > 0:
        entries.append((b, BACKGROUND_NAME, float(shares[b])))
    return entries


@dataclass
class AccuracyCounter:
    """Top-1 / top-5 accuracy of image-level predictions, overall and per class."""
    num_classes: int
    total: int = 0
    top1: int = 0
    top5: int = 0

    def __post_init__(self) -> None:
        self.per_class_total = np.zeros(self.num_classes, np.int64)
        self.per_class_top1 = np.zeros(self.num_classes, np.int64)

    def add(self, scores: np.ndarray, target: int) -> int:
        """Add one image's (C,) scores and its true class; returns the top-1 prediction."""
        ranked = top_k_classes(scores, 5)
        self.total += 1
        self.per_class_total[target] += 1
        if ranked[0] == target:
            self.top1 += 1
            self.per_class_top1[target] += 1
        if target in ranked:
            self.top5 += 1
        return int(ranked[0])

    def summary(self) -> dict:
        seen = self.per_class_total > 0
        per_class = np.where(seen, self.per_class_top1 / np.maximum(self.per_class_total, 1),
                             np.nan)
        return {
            "images": self.total,
            "top1": self.top1 / self.total if self.total else float("nan"),
            "top5": self.top5 / self.total if self.total else float("nan"),
            "mean_per_class_top1": float(np.nanmean(per_class)) if seen.any()
            else float("nan"),
        }


def list_images(paths: Sequence[str]) -> List[str]:
    """Image files from a mix of files and folders (folders: sorted, non-recursive)."""
    out: List[str] = []
    for p in paths:
        if os.path.isdir(p):
            out += sorted(os.path.join(p, f) for f in os.listdir(p)
                          if f.lower().endswith(IMAGE_EXTENSIONS))
        elif os.path.isfile(p):
            out.append(p)
        else:
            raise PSSLConfigError(f"paths {p!r} is neither an image file nor a directory",
                                  ["paths"])
    if not out:
        raise PSSLConfigError(f"paths {list(paths)!r} holds no image "
                              f"({', '.join(IMAGE_EXTENSIONS)})", ["paths"])
    return out


def list_classification_images(image_root: str, class_ids: Sequence[str], split: str = "val",
                               limit_per_class: Optional[int] = None
                               ) -> Tuple[List[Tuple[str, int]], List[str]]:
    """((image path, class index) of ``<image_root>/<split>/<class>/*``, class folders not in
    ``class_ids`` (skipped)); ``split`` '' when the class folders are in ``image_root``;
    at most ``limit_per_class`` images of each class, by name."""
    root = os.path.join(image_root, split) if split else image_root
    if not os.path.isdir(root):
        layout = os.path.join(image_root, split or '', '<class>')
        raise PSSLConfigError(f"image_root/split folder {root!r} is not a directory; expected "
                              f"ImageNet layout {layout}/*.JPEG (set split '' when the class "
                              f"folders are in image_root)", ["image_root", "split"])
    index = {c: i for i, c in enumerate(class_ids)}
    samples: List[Tuple[str, int]] = []
    unknown: List[str] = []
    for folder in sorted(os.listdir(root)):
        path = os.path.join(root, folder)
        if not os.path.isdir(path):
            continue
        if folder not in index:
            unknown.append(folder)
            continue
        files = sorted(f for f in os.listdir(path) if f.lower().endswith(IMAGE_EXTENSIONS))
        if limit_per_class is not None:
            files = files[:limit_per_class]
        samples += [(os.path.join(path, f), index[folder]) for f in files]
    if not samples:
        raise PSSLConfigError(f"no image of a known class under {root!r}: expected folders "
                              f"named like the synsets (e.g. {class_ids[0]!r}) holding images")
    return samples, unknown


def inference_transform_cfgs(cfg) -> List[Dict]:
    """The config's inference transforms: ``val_dataset``'s, else (pre-training configs often
    have none) the train normalisation."""
    if cfg.val_dataset_cfg.get("transforms"):
        return [dict(t) for t in cfg.val_dataset_cfg["transforms"]]
    return [dict(t) for t in cfg.train_dataset_cfg.get("transforms", [])
            if t.get("type") == "Normalize"] or [{"type": "Normalize"}]


def _inference_transforms(cfg, builder, target_size: Optional[Tuple[int, int]]):
    ops = [builder.build_component(t) for t in inference_transform_cfgs(cfg)]
    if target_size is not None:
        ops = [op for op in ops if not isinstance(op, Resize)]
        ops.insert(0, Resize(target_size=tuple(target_size)))
    return Compose(ops)


@dataclass(frozen=True)
class LoadedModel:
    """A model in eval mode with its weights, its inference ``Compose``, the outputs the config
    gives it (None: unsaid), and whether it trained on PSSL (the last output is background)."""

    model: object
    transforms: object
    num_classes: Optional[int]
    is_pssl: bool


def load_predictor(config: str, model_path: str, opts: Optional[Sequence[str]] = None,
                   target_size: Optional[Tuple[int, int]] = None) -> LoadedModel:
    """Build the model of a PaddleSeg config and load ``model_path`` (a ``.pdparams`` or the
    ``iter_<N>`` folder holding one); ``opts``: ``key=value`` overrides; ``target_size``:
    (width, height) every image is resized to (default: :func:`inference_transform_cfgs`)."""
    weights = str(check_checkpoint_file(model_path))
    cfg = load_config(config, opts)
    validate_components(cfg, sections=("model",))
    builder = PSSLSegBuilder(cfg)
    model = builder.model
    load_weights(model, weights)
    model.eval()
    return LoadedModel(model, _inference_transforms(cfg, builder, target_size),
                       output_class_count(builder), builder.label_space is not None)


def load_segmentation_model(config: str, model_path: str, opts: Optional[Sequence[str]] = None,
                            target_size: Optional[Tuple[int, int]] = None):
    """(model in eval mode, inference transforms) of :func:`load_predictor`."""
    loaded = load_predictor(config, model_path, opts, target_size)
    return loaded.model, loaded.transforms


@dataclass(frozen=True)
class InferenceOptions:
    """PaddleSeg's test-time options (``tools/predict.py`` flags of the same names)."""

    aug_pred: bool = False
    scales: Tuple[float, ...] = (1.0,)
    flip_horizontal: bool = False
    flip_vertical: bool = False
    is_slide: bool = False
    crop_size: Optional[Tuple[int, int]] = None
    stride: Optional[Tuple[int, int]] = None


def predict_probabilities(model, image_path: str, transforms,
                          options: Optional[InferenceOptions] = None) -> np.ndarray:
    """Per-pixel softmax probabilities, (channels)xHxW float32 at the image's own size;
    ``options``: sliding-window and multi-scale / flip inference, as PaddleSeg's predict."""
    options = options or InferenceOptions()
    window = {"is_slide": options.is_slide, "crop_size": options.crop_size,
              "stride": options.stride}
    try:
        data = transforms({"img": image_path})
    except (ValueError, TypeError, AttributeError) as exc:
        raise PSSLConfigError(f"cannot read or transform image {image_path!r}: {exc}") from exc
    img = paddle.to_tensor(data["img"][np.newaxis, ...])
    with paddle.no_grad():
        if options.aug_pred:
            _, logit = infer.aug_inference(
                model, img, trans_info=data["trans_info"], scales=list(options.scales),
                flip_horizontal=options.flip_horizontal,
                flip_vertical=options.flip_vertical, **window)
        else:
            _, logit = infer.inference(model, img, trans_info=data["trans_info"], **window)
        probs = paddle.nn.functional.softmax(logit, axis=1)
    return probs.numpy()[0]
