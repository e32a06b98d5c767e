"""Initialisation overrides and the Table-3-style summary."""
import pytest

from paddleseg_pssl.training.comparison import (RunResult, csv_table, init_overrides, markdown_table,
                                       summarise)


def test_pssl_init_loads_the_whole_checkpoint_and_no_separate_backbone():
    assert init_overrides("pssl", "ckpt/model.pdparams") == [
        "model.pretrained=ckpt/model.pdparams", "model.backbone.pretrained=None"]


def test_conventional_init_keeps_or_replaces_only_the_backbone():
    assert init_overrides("backbone") == ["model.pretrained=None"]
    assert init_overrides("backbone", backbone_pretrained="cls.pdparams") == [
        "model.pretrained=None", "model.backbone.pretrained=cls.pdparams"]


def test_pssl_init_without_checkpoint_is_an_error_naming_the_argument():
    with pytest.raises(ValueError, match="needs pssl_checkpoint"):
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
    assert "+15.0 mIoU points; seed spread (larger std) 7.1: PSSL init wins, beyond" in table
    assert csv_table(results).count("\n") == 5


def _runs(init, lr, mious):
    return [RunResult(init, seed, miou, 0.9, 10, 1.0, learning_rate=lr)
            for seed, miou in enumerate(mious)]


def test_each_init_gets_its_own_best_rate_on_the_validation_mean():
    """The paper searches the initial lr separately for ImageNet and PSSL init."""
    from paddleseg_pssl.training.comparison import choose_rates, grid, markdown_grid

    rates = [0.02, 0.01, 0.005]
    results = (_runs("backbone", 0.02, [0.40, 0.42]) + _runs("backbone", 0.01, [0.50, 0.52]) +
               _runs("backbone", 0.005, [0.45, 0.47]) + _runs("pssl", 0.02, [0.60, 0.62]) +
               _runs("pssl", 0.01, [0.55, 0.57]) + _runs("pssl", 0.005, [0.30, 0.32]))
    cells = grid(results, ["backbone", "pssl"], rates)
    chosen = choose_rates(cells, ["backbone", "pssl"], rates)
    assert [(c.init, c.learning_rate) for c in chosen] == [("backbone", 0.01), ("pssl", 0.02)]
    assert chosen[1].miou_mean == pytest.approx(0.61)
    table = markdown_table(chosen, "t")
    assert "| backbone |" in table and "| 0.01 |" in table and "+10.0" in table
    search = markdown_grid(cells, ["backbone", "pssl"], rates)
    assert "**51.0 +- 1.4 (2)**" in search and "**61.0 +- 1.4 (2)**" in search
    assert "45.0" not in search and "46.0 +- 1.4 (2)" in search
    assert "edge of the grid for pssl" in search


def test_old_results_without_a_rate_still_load():
    assert RunResult(**{"init": "pssl", "seed": 0, "miou": 0.5, "accuracy": 0.9, "iters": 1,
                        "seconds": 1.0}).learning_rate is None


@pytest.mark.parametrize("pssl_mious, judged", [
    ([0.55, 0.57, 0.56], "within the seed spread"),
    ([0.40, 0.41, 0.42], "PSSL init loses, beyond the seed spread"),
])
def test_the_verdict_weighs_the_gain_against_the_seed_spread(pssl_mious, judged):
    summaries = summarise(_runs("backbone", 0.1, [0.53, 0.55, 0.57]) +
                          _runs("pssl", 0.2, pssl_mious), ["backbone", "pssl"])
    assert judged in markdown_table(summaries, "t")
