"""Check a whole PSSL root before a long training, where a bad label shows only when sampled.

:func:`check_pssl_root` reads every line of ``train.txt`` and reports every problem at once,
each naming its file: the line parses and its class is in the synsets file; the image decodes
with ``PSSLDataset``'s reader (``pssl_format.read_training_image``, so a GIF is a problem); the
label is a uint8 decile map (or a 0/1 release map) of exactly the generator's size for its image
when ``manifest.json`` records the ``resolution``, else of the image's aspect up to rounding (the
rule ``PSSLDataset`` enforces).
"""
import concurrent.futures
import dataclasses
import functools
import os
import sys
import time
from typing import Any, List, Mapping, Optional, Tuple

from tqdm import tqdm

from paddleseg_pssl import pssl_format as fmt
from paddleseg_pssl.analysis import pssl_io
from paddleseg_pssl.errors import PSSLConfigError

DEFAULT_WORKERS = min(8, os.cpu_count() or 1)
#: Samples per task of the process pool (few tasks even for a million labels).
CHUNK = 256


@dataclasses.dataclass(frozen=True)
class Problem:
    """One problem of a PSSL root: the file (or list line) and what is wrong with it."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclasses.dataclass
class CheckReport:
    """What :func:`check_pssl_root` found."""

    samples: int
    problems: List[Problem]
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.problems


def check_sample(label_path: str, image_path: str,
                 resolution: Optional[Mapping[str, Any]] = None) -> List[Problem]:
    """Problems of one (label, image) pair; empty when it is a sound training sample."""
    problems = []
    image_hw: Optional[Tuple[int, int]] = None
    if not os.path.isfile(image_path):
        problems.append(Problem(image_path, "image file is missing"))
    else:
        try:
            image_hw = fmt.read_training_image(image_path).shape[:2]
        except fmt.PSSLFormatError as exc:
            problems.append(Problem(image_path, str(exc)))
    if not os.path.isfile(label_path):
        return problems + [Problem(label_path, "label file is missing")]
    try:
        label = pssl_io.read_decile_label(label_path)
    except PSSLConfigError as exc:
        return problems + [Problem(label_path, str(exc))]
    if image_hw is not None:
        problems += _size_problems(label.shape, label_path, image_hw, image_path, resolution)
    return problems


def _size_problems(label_hw: Tuple[int, int], label_path: str, image_hw: Tuple[int, int],
                   image_path: str, resolution: Optional[Mapping[str, Any]]) -> List[Problem]:
    """The label's size problem, if any: not the recorded resolution's, or another aspect."""
    size = f"size {label_hw[1]}x{label_hw[0]}"
    image = f"its image {image_path} ({image_hw[1]}x{image_hw[0]})"
    expected = fmt.generated_label_size(image_hw, resolution)
    if expected is not None and tuple(label_hw) != expected:
        return [Problem(label_path, (
            f"{size} is not the {expected[1]}x{expected[0]} the recorded resolution (short side "
            f"{resolution['short_side']}, {fmt.MANIFEST_FILE}) gives {image}"))]
    if not fmt.label_fits_image(label_hw, image_hw, resolution):
        return [Problem(label_path, f"{size} does not fit {image}: another aspect")]
    return []


def _check_chunk(chunk: List[Tuple[str, str]],
                 resolution: Optional[Mapping[str, Any]]) -> List[Problem]:
    """Problems of a list of (label path, image path) pairs (one task of the process pool)."""
    return [p for lbl, img in chunk for p in check_sample(lbl, img, resolution)]


def _list_samples(pssl_root: str, imagenet_root: str
                  ) -> Tuple[List[Tuple[str, str]], List[Problem]]:
    """(label path, image path) of every usable line of train.txt, and the lines' problems."""
    list_path = os.path.join(pssl_root, fmt.TRAIN_LIST_FILE)
    if not os.path.isfile(list_path):
        raise PSSLConfigError(f"pssl_root {pssl_root!r} has no {fmt.TRAIN_LIST_FILE!r}")
    classes = set(pssl_io.read_synsets(pssl_root))
    samples, problems = [], []
    for lineno, entry in fmt.iter_train_list(list_path, errors="replace"):
        if isinstance(entry, ValueError):
            problems.append(Problem(f"{list_path}:{lineno}", str(entry)))
            continue
        label_rel, image_rel = entry
        class_name = fmt.class_name_of_label(label_rel)
        if class_name not in classes:
            problems.append(Problem(fmt.join_relpath(pssl_root, label_rel),
                                    f"class folder {class_name!r} is not in the synsets file"))
            continue
        samples.append((fmt.join_relpath(pssl_root, label_rel),
                        fmt.join_relpath(imagenet_root, image_rel)))
    if not samples and not problems:
        raise PSSLConfigError(f"{list_path} lists no samples; PSSLDataset refuses an empty "
                              "list (regenerate the labels, or point pssl_root at another root)")
    return samples, problems


def check_pssl_root(pssl_root: str, imagenet_root: str, *, workers: int = DEFAULT_WORKERS,
                    progress: bool = True) -> CheckReport:
    """Check every sample of a PSSL root against its images; see the module docstring.

    ``workers``: checking processes (0: this one). Raises ``PSSLConfigError`` when a root is
    not a folder, ``train.txt`` or the synsets file is missing or unusable, or the list is empty.
    """
    start = time.monotonic()
    pssl_io.require_dir(pssl_root, "pssl_root")
    pssl_io.require_dir(imagenet_root, "imagenet_root")
    samples, problems = _list_samples(pssl_root, imagenet_root)
    resolution = fmt.read_label_resolution(pssl_root)
    chunks = [samples[i:i + CHUNK] for i in range(0, len(samples), CHUNK)]
    task = functools.partial(_check_chunk, resolution=resolution)
    pool = concurrent.futures.ProcessPoolExecutor(workers) if workers else None
    with tqdm(total=len(samples), desc="check PSSL", unit="label", file=sys.stderr,
              dynamic_ncols=True, mininterval=0.5, disable=not progress) as bar:
        try:
            for chunk, found in zip(chunks, pool.map(task, chunks) if pool else map(task, chunks)):
                problems.extend(found)
                bar.update(len(chunk))
        finally:
            if pool is not None:
                pool.shutdown()
    return CheckReport(samples=len(samples), problems=problems,
                       seconds=time.monotonic() - start)
