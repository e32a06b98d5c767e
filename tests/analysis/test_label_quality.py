"""Label quality maths on hand-computed arrays (paddleseg_pssl.analysis.label_quality)."""
import numpy as np
import pytest

from paddleseg_pssl.analysis import label_quality as lq

# A 2x5 decile map and a mask; hand counts per threshold "decile >= d":
#   deciles  9 9 8 7 0      mask 1 1 0 1 0
#            8 5 9 0 0           0 0 0 0 0
DEC = np.array([[9, 9, 8, 7, 0], [8, 5, 9, 0, 0]], dtype=np.uint8)
MASK = np.array([[1, 1, 0, 1, 0], [0, 0, 0, 0, 0]], dtype=bool)


def test_histograms_and_counts_by_hand():
    all_hist, fg_hist = lq.decile_histograms(DEC, MASK)
    assert all_hist.tolist() == [3, 0, 0, 0, 0, 1, 0, 1, 2, 3]
    assert fg_hist.tolist() == [0, 0, 0, 0, 0, 0, 0, 1, 0, 2]
    tp, fp, fn = lq.threshold_counts(all_hist, fg_hist)
    # d=9: predicted 3 (two in mask) -> TP 2, FP 1, FN 1
    assert (tp[9], fp[9], fn[9]) == (2, 1, 1)
    # d=8: predicted 5 -> TP 2, FP 3, FN 1
    assert (tp[8], fp[8], fn[8]) == (2, 3, 1)
    # d=7: predicted 6 -> TP 3, FP 3, FN 0
    assert (tp[7], fp[7], fn[7]) == (3, 3, 0)
    # d=0: everything predicted
    assert (tp[0], fp[0], fn[0]) == (3, 7, 0)


def test_precision_recall_iou_by_hand():
    acc = lq.QualityAccumulator("x")
    acc.add(DEC, MASK)
    res = acc.result()
    assert res.micro["precision"][9] == pytest.approx(2 / 3)
    assert res.micro["recall"][9] == pytest.approx(2 / 3)
    assert res.micro["iou"][9] == pytest.approx(2 / 4)
    assert res.micro["precision"][8] == pytest.approx(2 / 5)
    assert res.micro["iou"][8] == pytest.approx(2 / 6)
    assert res.micro["iou"][7] == pytest.approx(3 / 6)
    assert res.at_top_k(1) == pytest.approx(0.5)
    assert res.at_top_k(3, "recall") == pytest.approx(1.0)
    assert res.mean_iou([1, 2, 3]) == pytest.approx((1 / 2 + 1 / 3 + 1 / 2) / 3)
    # object share of exactly decile 9: 2 of its 3 pixels
    assert res.decile_object_share[9] == pytest.approx(2 / 3)
    assert np.isnan(res.decile_object_share[1])  # no pixel in decile 1


def test_one_images_scores_at_d9_and_below():
    assert lq.image_scores(DEC, MASK) == pytest.approx(
        {"precision": 2 / 3, "recall": 2 / 3, "iou": 2 / 4})
    assert lq.image_scores(DEC, MASK, top_k=2)["iou"] == pytest.approx(2 / 6)


def test_valid_mask_excludes_pixels():
    valid = np.ones_like(MASK)
    valid[1, 2] = False  # the false-positive D9 pixel becomes ignored
    acc = lq.QualityAccumulator("x")
    acc.add(DEC, MASK, valid)
    res = acc.result()
    assert res.micro["precision"][9] == pytest.approx(1.0)
    assert res.micro["iou"][9] == pytest.approx(2 / 3)


def test_micro_versus_per_image_mean():
    # image A: 1x2, D9 on the object -> IoU 1; image B: 1x4 with object missed -> IoU 0
    a_dec, a_mask = np.array([[9, 0]]), np.array([[True, False]])
    b_dec = np.array([[9, 0, 0, 0]])
    b_mask = np.array([[False, True, True, True]])
    acc = lq.QualityAccumulator("x")
    acc.add(a_dec, a_mask)
    acc.add(b_dec, b_mask)
    res = acc.result()
    # micro: TP 1, FP 1, FN 3 -> IoU 1/5; mean: (1 + 0) / 2
    assert res.micro["iou"][9] == pytest.approx(1 / 5)
    assert res.mean["iou"][9] == pytest.approx(0.5)
    assert res.n_images == 2


def test_undefined_ratios_left_out_of_the_mean():
    acc = lq.QualityAccumulator("x")
    acc.add(np.array([[9, 0]]), np.array([[True, False]]))      # IoU 1
    acc.add(np.zeros((1, 2), np.uint8), np.zeros((1, 2), bool))  # D9 empty, mask empty: 0/0
    res = acc.result()
    assert res.mean["iou"][9] == pytest.approx(1.0)
    assert res.n_defined["iou"][9] == 1
    assert res.n_defined["precision"][9] == 1
    assert res.n_defined["recall"][9] == 1
    assert res.micro["iou"][9] == pytest.approx(1.0)


def test_rows_and_top_k_mapping():
    assert [lq.top_k_to_threshold(k) for k in (1, 2, 3, 10)] == [9, 8, 7, 0]
    with pytest.raises(ValueError):
        lq.top_k_to_threshold(0)
    acc = lq.QualityAccumulator("c")
    acc.add(DEC, MASK)
    rows = acc.result().rows()
    assert [r["threshold"] for r in rows] == list(range(9, -1, -1))
    assert rows[0]["top_k"] == 1 and rows[0]["micro_iou"] == pytest.approx(0.5)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="differs from mask shape"):
        lq.decile_histograms(DEC, MASK[:, :3])
    with pytest.raises(ValueError, match="0..9"):
        lq.decile_histograms(DEC + 1, MASK)


def test_centred_prior_shape_and_deciles():
    prior = lq.centred_prior((30, 40))
    assert prior.shape == (30, 40) and prior.dtype == np.float32
    assert prior.max() <= 1.0 and prior.min() > 0.0
    # peak in the middle, symmetric
    assert np.unravel_index(prior.argmax(), prior.shape) in {(14, 19), (14, 20), (15, 19),
                                                             (15, 20)}
    np.testing.assert_allclose(prior, prior[::-1, ::-1], rtol=1e-6)
    dec = lq.centred_prior_deciles((30, 40))
    assert dec.shape == (30, 40) and dec.max() == 9 and dec.min() == 0
    assert dec[15, 20] == 9 and dec[0, 0] == 0
    # the top decile is about 10% of the pixels (ties may shift it a little)
    assert 0.05 <= np.mean(dec == 9) <= 0.15
    with pytest.raises(ValueError):
        lq.centred_prior((0, 4))


