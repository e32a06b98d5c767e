"""tools/pssl_schedule.py: the paper's schedule as --opts, a continuation, bad input."""
import pytest

from paddleseg_pssl.cli import pssl_schedule
from paddleseg_pssl.errors import EXIT_BAD_INPUT


def test_paper_schedule_and_continuation(capsys):
    status = pssl_schedule.main(["--epochs", "60", "--continue_from_epochs", "30",
                                 "--save_dir", "out/run"])
    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines[0] == "total batch 64 = 8 x 8 cards"
    assert lines[1] == "--opts batch_size=8 iters=1201095 lr_scheduler.milestones=[400365]"
    assert lines[2].startswith("continue 30 -> 60 epochs: --resume_model out/run/iter_600548 ")


def test_non_positive_counts_are_refused_in_one_line(capsys):
    with pytest.raises(SystemExit) as stopped:
        pssl_schedule.main(["--cards", "0"])
    assert stopped.value.code == EXIT_BAD_INPUT
    assert capsys.readouterr().err.splitlines()[-1] == (
        "tools/pssl_schedule.py: error: argument --cards: 0 is not positive; expected an "
        "integer > 0")
