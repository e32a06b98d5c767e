"""Pure functions of the 1000-class prediction / classifier analyses (Section 6.1, 6.2)."""
import numpy as np
import pytest

from paddleseg_pssl.analysis import prediction as pr
from paddleseg_pssl.errors import PSSLConfigError


def test_image_class_scores_average_pixels_and_drop_background():
    # 3 object classes + background (last); two pixels
    probs = np.array([[[0.1, 0.5]], [[0.2, 0.1]], [[0.0, 0.3]], [[0.7, 0.1]]], np.float32)
    scores = pr.image_class_scores(probs)
    np.testing.assert_allclose(scores, [0.3, 0.15, 0.15])
    # background first instead: channels 1..3 are the object classes
    scores0 = pr.image_class_scores(probs, background_index=0)
    np.testing.assert_allclose(scores0, [0.15, 0.15, 0.4])


def test_object_channels_and_background_index():
    assert pr.object_channels(4).tolist() == [0, 1, 2]
    assert pr.object_channels(4, 0).tolist() == [1, 2, 3]
    assert pr.resolve_background_index(1001) == 1000
    with pytest.raises(PSSLConfigError, match="out of range"):
        pr.resolve_background_index(4, 7)
    with pytest.raises(PSSLConfigError, match="expected 4 outputs"):
        pr.check_class_count(5, 3, "synsets.txt")


def test_top_k_and_accuracy_counter():
    assert pr.top_k_classes(np.array([0.1, 0.5, 0.5, 0.2]), 3).tolist() == [1, 2, 3]
    acc = pr.AccuracyCounter(6)
    acc.add(np.array([0.9, 0.1, 0, 0, 0, 0]), 0)      # top-1 hit
    acc.add(np.array([0.5, 0.4, 0.3, 0.2, 0.1, 0]), 4)  # in top-5
    acc.add(np.array([0.5, 0.4, 0.3, 0.2, 0.1, 0]), 5)  # missed
    s = acc.summary()
    assert s["images"] == 3
    assert s["top1"] == pytest.approx(1 / 3) and s["top5"] == pytest.approx(2 / 3)
    assert s["mean_per_class_top1"] == pytest.approx(1 / 3)


def test_legend_entries_by_pixel_share():
    pred = np.array([[0, 0, 0, 1], [2, 2, 3, 3]])  # channel 3 = background
    entries = pr.legend_entries(pred, ["a", "b", "c"], top_k=2)
    assert entries == [(0, "a", 3 / 8), (2, "c", 2 / 8), (3, "background", 2 / 8)]


def test_softmax_is_stable():
    p = pr.softmax(np.array([[1000.0, 0.0], [1000.0, 0.0]]), axis=0)
    np.testing.assert_allclose(p, [[0.5, 0.5], [0.5, 0.5]])


def test_list_classification_images(tmp_path):
    for cls in ("a", "b", "zzz"):
        (tmp_path / "val" / cls).mkdir(parents=True)
        for i in range(3):
            (tmp_path / "val" / cls / f"{i}.JPEG").write_bytes(b"")
    samples, unknown = pr.list_classification_images(str(tmp_path), ["a", "b"],
                                                     limit_per_class=2)
    assert [s[1] for s in samples] == [0, 0, 1, 1] and unknown == ["zzz"]
    with pytest.raises(PSSLConfigError, match="not a directory"):
        pr.list_classification_images(str(tmp_path), ["a"], split="train")
