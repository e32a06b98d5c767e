"""PSSLDataset(subset=...): PSSL-50K-style pre-training on a class-balanced part of the labels."""
import os

import numpy as np
import pytest

from paddleseg_pssl import pssl_format
from paddleseg_pssl.datasets import PSSLDataset
from paddleseg_pssl.errors import PSSLConfigError
from tests.datasets.pssl_fixtures import CLASSES, build_tree

LABEL = np.arange(96, dtype=np.uint8).reshape(8, 12) % 10


def make(tree, **kwargs):
    return PSSLDataset(transforms=[], **tree, **kwargs)


def test_subset_takes_the_same_share_of_every_class_and_logs_it(tmp_path, monkeypatch):
    """A count or a fraction, without regenerating labels."""
    sizes = {CLASSES[0]: 4, CLASSES[1]: 8, CLASSES[2]: 12}
    labels = {f"{c}_{i}.JPEG": LABEL for c, n in sizes.items() for i in range(n)}
    tree = build_tree(tmp_path, labels)
    messages = []
    monkeypatch.setattr("paddleseg_pssl.datasets.pssl_dataset.logger.info", messages.append)
    by_count = make(tree, subset=6, subset_seed=1)
    per_class = {c: sum(1 for _, lbl in by_count.file_list
                        if pssl_format.class_name_of_label(os.path.relpath(lbl, tree["pssl_root"]))
                        == c) for c in CLASSES}
    assert per_class == {CLASSES[0]: 1, CLASSES[1]: 2, CLASSES[2]: 3}
    assert len(by_count.class_ids) == 6
    assert any("subset (6 samples, seed 1): 6 of 24 samples, 3 classes" in m for m in messages)
    assert make(tree, subset=0.25, subset_seed=1).file_list == by_count.file_list
    assert make(tree, subset=6, subset_seed=2).file_list != by_count.file_list


def test_subset_errors_name_the_key(tmp_path):
    tree = build_tree(tmp_path, {f"{CLASSES[0]}_0.JPEG": LABEL})
    with pytest.raises(PSSLConfigError, match="train_dataset.subset.*only 1"):
        make(tree, subset=2)
    with pytest.raises(PSSLConfigError, match=r"train_dataset.subset.*\(0, 1\]"):
        make(tree, subset=1.5)
