"""Tests for ``paddleseg_pssl.training.sample_guard``: a bad sample is one line naming its files."""
import sys
import traceback

import numpy as np
import paddle
import pytest

import paddleseg_pssl  # noqa: F401  (installs the guard in front of core.train)
from paddleseg_pssl.datasets.pssl_dataset import PSSLDataset
from paddleseg_pssl.training import sample_guard
from paddleseg_pssl.training.sample_guard import GuardedSamples, SampleLoadError
from tests.datasets.pssl_fixtures import CLASSES, build_tree


class _Listed(paddle.io.Dataset):
    """Two samples by PaddleSeg's file_list convention; sample 1 raises."""

    file_list = [["img/0.jpg", "lbl/0.png"], ["img/1.jpg", "lbl/1.png"]]

    def __getitem__(self, index):
        if index == 1:
            raise ZeroDivisionError("division by zero\nin a transform")
        return np.zeros([1], dtype="float32")

    def __len__(self):
        return len(self.file_list)


def test_a_failing_sample_names_its_files_and_the_reason():
    samples = GuardedSamples(_Listed())
    assert len(samples) == 2 and samples[0].shape == (1,)
    with pytest.raises(SampleLoadError) as info:
        samples[1]
    assert str(info.value) == ("train sample 1 (img/1.jpg, lbl/1.png): ZeroDivisionError: "
                               "division by zero in a transform")
    assert samples.file_list is _Listed.file_list  # other attributes are the dataset's


def test_a_pssl_sample_error_is_not_repeated(tmp_path):
    labels = {f"{CLASSES[0]}_0.JPEG": np.full((4, 12), 9, np.uint8)}  # square image: bad
    dataset = PSSLDataset(transforms=[{"type": "Normalize"}], **build_tree(tmp_path, labels,
                                                                        image_size=(12, 12)))
    with pytest.raises(SampleLoadError) as info:
        GuardedSamples(dataset)[0]
    message = str(info.value)
    image, label = dataset.file_list[0]
    assert message.startswith(f"train sample 0: label {label}: size 12x4 does not keep")
    assert message.count(label) == 1 and message.count(image) == 1 and "\n" not in message


def test_the_error_takes_its_line_back_from_a_worker_report():
    try:
        raise SampleLoadError("train sample 3 (a.jpg): cannot be read")
    except SampleLoadError:
        report = "DataLoader worker(0) caught SampleLoadError with message:\n" + \
            "".join(traceback.format_exception(*sys.exc_info()))
    assert str(SampleLoadError(report)) == "train sample 3 (a.jpg): cannot be read"


def test_guarding_twice_or_nothing_changes_nothing():
    wrapped = sample_guard.guarded(_Listed())
    assert isinstance(wrapped, GuardedSamples)
    assert sample_guard.guarded(wrapped) is wrapped
    assert sample_guard.guarded(None) is None
