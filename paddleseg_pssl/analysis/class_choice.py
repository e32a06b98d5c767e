"""Pick each image's class among candidates by the ensemble's own belief (PSSL benchmarks).

Datasets with masks rarely use ImageNet's classes (an MSRC "cow" may be ImageNet's ox, water
buffalo or bison), so a fair label-quality benchmark explains, for each image, the candidate the
ensemble finds most probable: the models' mean softmax at the explanation resolution.

The candidates file is a CSV with a header and the columns ``image`` (path relative to the image
root) and ``candidates`` (class ids into the class list, separated by spaces). The result is a
generation list file of ``<image> <class id>`` lines (``images.list`` of a generation config).
"""
import csv
import os
from dataclasses import dataclass
from typing import Dict, List, Sequence

import numpy as np
import paddle

from paddleseg_pssl.consensus.explain.preprocess import to_model_input
from paddleseg_pssl.errors import PSSLConfigError

IMAGE_COLUMN = "image"
CANDIDATES_COLUMN = "candidates"


@dataclass(frozen=True)
class CandidateRow:
    """One image and the class ids it may be."""

    image_rel: str
    candidates: tuple


def read_candidates(path: str, num_classes: int) -> List[CandidateRow]:
    """Read a candidates CSV (module docstring); errors name the file and the line."""
    if not os.path.isfile(path):
        raise PSSLConfigError(f"candidates file {path!r} does not exist; write a CSV with the "
                              f"columns {IMAGE_COLUMN!r} and {CANDIDATES_COLUMN!r}")
    rows: List[CandidateRow] = []
    with open(path, "r", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = {IMAGE_COLUMN, CANDIDATES_COLUMN} - set(reader.fieldnames or [])
        if missing:
            raise PSSLConfigError(f"candidates file {path!r} lacks the column(s) "
                                  f"{sorted(missing)} (header: {reader.fieldnames})")
        for lineno, record in enumerate(reader, 2):
            tokens = (record[CANDIDATES_COLUMN] or "").split()
            if not record[IMAGE_COLUMN] or not tokens:
                raise PSSLConfigError(f"candidates file {path!r} line {lineno}: needs an image "
                                      "and at least one class id")
            try:
                ids = tuple(int(t) for t in tokens)
            except ValueError:
                raise PSSLConfigError(f"candidates file {path!r} line {lineno}: class ids must "
                                      f"be integers, got {record[CANDIDATES_COLUMN]!r}") from None
            bad = [i for i in ids if not 0 <= i < num_classes]
            if bad:
                raise PSSLConfigError(f"candidates file {path!r} line {lineno}: class ids {bad} "
                                      f"are outside the class list (0..{num_classes - 1})")
            rows.append(CandidateRow(record[IMAGE_COLUMN].replace("\\", "/"), ids))
    if not rows:
        raise PSSLConfigError(f"candidates file {path!r} lists no images")
    return rows


def ensemble_probabilities(models: Sequence, specs: Sequence, image: np.ndarray) -> np.ndarray:
    """(C,) float64 mean over the models of the softmax class probabilities of one (H, W, 3)
    uint8 image, each model fed as the generator feeds it (``to_model_input``)."""
    total = None
    with paddle.no_grad():
        for model, spec in zip(models, specs):
            logits = model(paddle.to_tensor(to_model_input(image, spec)))
            probs = paddle.nn.functional.softmax(logits.astype("float32"), axis=-1)
            probs = probs.numpy()[0].astype(np.float64)
            total = probs if total is None else total + probs
    return total / len(models)


def most_probable(probs: np.ndarray, candidates: Sequence[int]) -> int:
    """The candidate class id with the highest probability (the first one on ties)."""
    ids = list(candidates)
    return int(ids[int(np.argmax(np.asarray(probs)[ids]))])


def write_list_file(choices: Dict[str, int], path: str) -> str:
    """Write ``<image> <class id>`` lines (sorted by image) atomically; returns ``path``."""
    tmp = f"{path}.tmp.{os.getpid()}"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(tmp, "w", encoding="utf-8") as f:
        for image_rel in sorted(choices):
            f.write(f"{image_rel} {choices[image_rel]}\n")
    os.replace(tmp, path)
    return path
