"""Initialisation overrides and the Table-3-style summary."""
import pytest

from paddleseg_pssl.comparison import (RunResult, csv_table, init_overrides, markdown_table,
                                       summarise)


def test_pssl_init_loads_the_whole_checkpoint_and_no_separate_backbone():
    assert init_overrides("pssl", "ckpt/model.pdparams") == [
        "model.pretrained=ckpt/model.pdparams", "model.backbone.pretrained=None"]


def test_conventional_init_keeps_or_replaces_only_the_backbone():
    assert init_overrides("backbone") == ["model.pretrained=None"]
    assert init_overrides("backbone", backbone_pretrained="cls.pdparams") == [
        "model.pretrained=None", "model.backbone.pretrained=cls.pdparams"]


def test_pssl_init_without_checkpoint_is_an_error_naming_the_flag():
    with pytest.raises(ValueError, match="--pssl_checkpoint"):
        init_overrides("pssl")


def test_summary_mean_std_and_gain_over_first_row():
    results = [RunResult("backbone", 0, 0.50, 0.9, 10, 1.0),
               RunResult("backbone", 1, 0.60, 0.9, 10, 1.0),
               RunResult("pssl", 0, 0.70, 0.9, 10, 1.0),
               RunResult("pssl", 1, 0.70, 0.9, 10, 1.0)]
    summaries = summarise(results, ["backbone", "pssl"])
    assert [s.init for s in summaries] == ["backbone", "pssl"]
    assert summaries[0].miou_mean == pytest.approx(0.55)
    assert summaries[0].miou_std == pytest.approx(0.0707, abs=1e-4)
    assert summaries[1].miou_std == 0.0
    table = markdown_table(summaries, "camvid")
    assert "| pssl |" in table and "+15.0" in table
    assert csv_table(results).count("\n") == 5
