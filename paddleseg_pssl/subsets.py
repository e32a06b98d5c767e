"""Class-balanced, seeded subsets of a labelled image list (the paper's PSSL-50K/200K/500K/1M).

A subset takes the same share of every class (the first N sorted paths would keep only the
first classes), so a 50K subset of ImageNet still covers all 1000 classes. The rules, used by
``PSSLDataset(subset=...)`` and the generator's ``images.per_class`` / ``images.fraction``:

* a size is a sample count (``int`` >= 1), a fraction (``float`` in (0, 1]) or a count per
  class (``per_class``); a count N of T samples is the fraction N / T;
* class c with n_c samples keeps floor(n_c * N / T), and the samples missing to reach N go to
  the classes with the largest remainders (ties: class order);
* within a class, the kept samples are the first of a permutation seeded by (seed, class
  name): a larger subset with the same seed extends a smaller one, class by class;
* the kept indices are returned in their original order.
"""
import collections
import hashlib
import math
from dataclasses import dataclass
from typing import Dict, Hashable, List, Optional, Sequence, Union

import numpy as np

from paddleseg_pssl.errors import PSSLConfigError

#: What a user may write for a subset size: a sample count or a fraction of the samples.
SubsetSize = Union[int, float]


class SubsetError(PSSLConfigError):
    """A subset request that cannot be met; the message names the key and the fix."""


@dataclass(frozen=True)
class SubsetSpec:
    """A parsed subset request: exactly one of ``count``, ``fraction``, ``per_class``."""
    count: Optional[int] = None
    fraction: Optional[float] = None
    per_class: Optional[int] = None

    def describe(self) -> str:
        """Human-readable request, for logs and manifests."""
        if self.per_class is not None:
            return f"{self.per_class} per class"
        if self.fraction is not None:
            return f"fraction {self.fraction:g}"
        return f"{self.count} samples"


def parse_size(value: SubsetSize, key: str) -> SubsetSpec:
    """A count (int >= 1) or a fraction (float in (0, 1]) as a :class:`SubsetSpec`; any other
    value is a :class:`SubsetError` naming ``key``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise SubsetError(f"{key}: {value!r} is not a subset size; give a sample count "
                          "(e.g. 50000) or a fraction in (0, 1] (e.g. 0.04)")
    if isinstance(value, (int, np.integer)):
        if value < 1:
            raise SubsetError(f"{key}: {value} samples; a count must be at least 1")
        return SubsetSpec(count=int(value))
    if not 0.0 < float(value) <= 1.0:
        raise SubsetError(f"{key}: {value!r}; a fraction must be in (0, 1] (a count is an "
                          "integer, e.g. 50000)")
    return SubsetSpec(fraction=float(value))


def parse_per_class(value: int, key: str) -> SubsetSpec:
    """A fixed number of samples per class as a :class:`SubsetSpec`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise SubsetError(f"{key}: {value!r}; expected a number of images per class >= 1")
    return SubsetSpec(per_class=int(value))


def _class_seed(seed: int, class_key: Hashable) -> int:
    """A stable 64-bit seed for one class (independent of Python's hash randomisation)."""
    digest = hashlib.sha256(f"{int(seed)}\0{class_key}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little")


def _quotas(sizes: Dict[Hashable, int], spec: SubsetSpec, key: str) -> Dict[Hashable, int]:
    """How many samples each class keeps (largest-remainder apportionment of the total)."""
    total = sum(sizes.values())
    if spec.per_class is not None:
        return {c: min(n, spec.per_class) for c, n in sizes.items()}
    target = spec.count if spec.count is not None else round(spec.fraction * total)
    if target > total:
        raise SubsetError(f"{key}: {target} samples requested but only {total} are available; "
                          "give a smaller count or a fraction")
    target = max(1, target)
    exact = {c: n * target / total for c, n in sizes.items()}
    quotas = {c: math.floor(q) for c, q in exact.items()}
    missing = target - sum(quotas.values())
    order = sorted(sizes, key=lambda c: -(exact[c] - quotas[c]))  # stable: class order on ties
    for c in order[:missing]:
        quotas[c] += 1
    return quotas


def balanced_indices(class_keys: Sequence[Hashable], spec: SubsetSpec, seed: int,
                     key: str = "subset") -> List[int]:
    """Indices (ascending) of a class-balanced, seeded subset of samples whose classes are
    ``class_keys`` (one entry per sample)."""
    by_class: Dict[Hashable, List[int]] = {}
    for index, class_key in enumerate(class_keys):
        by_class.setdefault(class_key, []).append(index)
    if not by_class:
        return []
    quotas = _quotas({c: len(v) for c, v in by_class.items()}, spec, key)
    chosen: List[int] = []
    for class_key, members in by_class.items():
        order = np.random.default_rng(_class_seed(seed, class_key)).permutation(len(members))
        chosen.extend(members[i] for i in order[:quotas[class_key]])
    return sorted(chosen)


def per_class_counts(class_keys: Sequence[Hashable]) -> Dict[Hashable, int]:
    """Samples per class, in order of first appearance (for logs)."""
    return dict(collections.Counter(class_keys))
