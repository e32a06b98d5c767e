"""The epoch -> iteration arithmetic behind every config comment."""
import pytest

from paddleseg_pssl.training.schedule import iterations_for_epochs, pretrain_schedule


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


def _cfg(**extra):
    return {"batch_size": 4, "iters": 689, **extra}


def test_total_batch_as_intended_keeps_the_config_schedule():
    from paddleseg_pssl.training.schedule import plan_batch

    plan, warnings = plan_batch("c.yml", _cfg(total_batch_size=16), processes=4)
    assert (plan.total_batch, plan.iters, plan.rescaled_from, warnings) == (16, 689, None, [])


def test_total_batch_mismatch_is_refused_without_batch_size():
    """One process at 4 per card would run a quarter of the paper's epochs, silently."""
    from paddleseg_pssl.training.schedule import BatchMismatchError, plan_batch

    with pytest.raises(BatchMismatchError, match=r"total batch 16.*4 x 1.*\(processes\), "
                                                 "or pass batch_size 16"):
        plan_batch("c.yml", _cfg(total_batch_size=16), processes=1)


def test_accepted_batch_change_rescales_iterations_to_the_same_epochs():
    from paddleseg_pssl.training.schedule import plan_batch, rescale_iters

    plan, warnings = plan_batch("c.yml", _cfg(total_batch_size=16), processes=1, batch_size=8)
    assert plan.iters == rescale_iters(689, 16, 8) == 1378 and plan.rescaled_from == 689
    assert "689 -> 1378 (same epochs)" in warnings[0]
    plan, warnings = plan_batch("c.yml", _cfg(total_batch_size=16), processes=1, batch_size=8,
                                iters=100)
    assert plan.iters == 100 and "WARNING" in warnings[0]


def test_config_without_total_batch_only_warns():
    from paddleseg_pssl.training.schedule import plan_batch

    plan, warnings = plan_batch("c.yml", _cfg(), processes=2)
    assert plan.total_batch == 8 and plan.iters == 689 and "states no total_batch_size" in warnings[0]


def test_sixty_epoch_config_continues_the_thirty_epoch_schedule(repo_root):
    """Table 4's continuation: same batch and milestones, the end at 60 epochs."""
    from paddleseg.cvlibs.config import parse_from_yaml

    thirty = parse_from_yaml(str(repo_root / "configs/pssl/pspnet_r50.yml"))
    sixty = parse_from_yaml(str(repo_root / "configs/pssl/pspnet_r50_60e.yml"))
    schedule = pretrain_schedule(cards=8, batch_size_per_card=8, epochs=60)
    assert sixty["iters"] == schedule.iters == 1201095
    assert sixty["iters"] > thirty["iters"] == pretrain_schedule(8, 8).iters
    assert sixty["lr_scheduler"] == thirty["lr_scheduler"]
    assert sixty["batch_size"] == thirty["batch_size"]


def test_resuming_restores_the_lr_scheduler_position():
    """--resume_model restores the optimizer state; the continued run must go on at the
    dropped lr, not restart at the initial one (Paddle keeps the scheduler in the state)."""
    import paddle

    def optimizer(milestones):
        layer = paddle.nn.Linear(2, 2)
        scheduler = paddle.optimizer.lr.MultiStepDecay(0.01, milestones=milestones, gamma=0.1)
        return paddle.optimizer.Momentum(scheduler, parameters=layer.parameters()), scheduler

    first, first_scheduler = optimizer([3])
    for _ in range(5):
        first_scheduler.step()
    state = first.state_dict()
    second, second_scheduler = optimizer([3])
    second.set_state_dict(state)
    assert second_scheduler.get_lr() == pytest.approx(0.001)
    assert second_scheduler.last_epoch == 5
