"""The epoch -> iteration arithmetic behind every config comment."""
import pytest

from paddleseg_pssl.schedule import iterations_for_epochs, pretrain_schedule


def test_paper_pretraining_schedule_matches_the_base_config():
    schedule = pretrain_schedule(cards=8, batch_size_per_card=8)
    assert schedule.total_batch == 64
    # ceil(30 * 1281167 / 64) and ceil(20 * 1281167 / 64), as configs/pssl/_base_ states.
    assert schedule.iters == 600548
    assert schedule.milestones == (400365,)


def test_camvid_finetune_iterations_round_up():
    assert iterations_for_epochs(30, 367, 16) == 689


def test_non_positive_inputs_are_rejected():
    with pytest.raises(ValueError, match="positive"):
        iterations_for_epochs(0, 10, 2)
