"""Tests for ``paddleseg_pssl.compat.profiler``: ``--profiler_options`` on ``paddle.profiler``."""
import paddle
import pytest

import paddleseg_pssl  # noqa: F401  (applies the fixes)


def test_profiler_step_profiles_the_batch_range_and_writes_profile_path(tmp_path):
    """PaddleSeg's own add_profiler_step (as core.train calls it) runs and writes the trace."""
    from paddleseg.utils import train_profiler as stock_profiler

    from paddleseg_pssl.compat import profiler

    path = tmp_path / "trace" / "profile.json"
    options = f"batch_range=[1,3];profile_path={path};exit_on_finished=false"
    profiler.reset()
    try:
        for _ in range(5):
            paddle.matmul(paddle.ones([2, 2]), paddle.ones([2, 2]))
            stock_profiler.add_profiler_step(options)
        assert path.is_file() and path.stat().st_size > 0
    finally:
        profiler.reset()


def test_profiler_step_ends_the_process_when_exit_on_finished(tmp_path):
    from paddleseg.utils import train_profiler as stock_profiler

    from paddleseg_pssl.compat import profiler

    profiler.reset()
    try:
        with pytest.raises(SystemExit) as stopped:
            for _ in range(3):
                stock_profiler.add_profiler_step(
                    f"batch_range=[0,1];profile_path={tmp_path / 'p.json'}")
        assert stopped.value.code == 0
    finally:
        profiler.reset()
