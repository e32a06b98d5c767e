"""The tools' shared main: user errors and Ctrl-C end in one stderr line and a documented status."""
import pytest

from paddleseg_pssl.cli import common
from paddleseg_pssl.errors import (EXIT_BAD_INPUT, EXIT_BAD_SAMPLE, EXIT_INTERRUPTED,
                                   PSSLConfigError, PSSLSampleError)


def _raise(exc: BaseException):
    def body():
        raise exc
    return body


def test_config_error_is_one_line_and_status_2(capsys):
    assert common.run_guarded("tools/x.py", _raise(PSSLConfigError("key 'a': bad"))) == EXIT_BAD_INPUT
    assert capsys.readouterr().err == "tools/x.py: error: key 'a': bad\n"


def test_a_bad_sample_met_during_training_has_its_own_status(capsys):
    """Status 2 is for input found bad before training; a sample is found bad during it."""
    error = PSSLSampleError("label 'a.png' holds values [12]; expected deciles 0..9")
    assert common.run_guarded("tools/train.py", _raise(error)) == EXIT_BAD_SAMPLE == 4
    assert capsys.readouterr().err == f"tools/train.py: error: {error}\n"


def test_ctrl_c_is_one_line_and_status_130(capsys):
    assert common.run_guarded("tools/x.py", _raise(KeyboardInterrupt())) == EXIT_INTERRUPTED == 130
    assert capsys.readouterr().err == "tools/x.py: interrupted (Ctrl-C)\n"


def test_status_of_the_body_is_returned():
    assert common.run_guarded("tools/x.py", lambda: None) == 0
    assert common.run_guarded("tools/x.py", lambda: 3) == 3


def test_library_error_names_the_argument_and_the_cli_the_flag(tmp_path, capsys):
    """One error: a Python caller reads ``resume_model``/``opts``, a command line the flag."""
    from paddleseg_pssl.training.config_loading import check_resume_dir

    missing = tmp_path / "iter_9"
    with pytest.raises(PSSLConfigError, match=r"^resume_model '.*iter_9' is not a directory"):
        check_resume_dir(missing)
    assert common.run_guarded("tools/train.py", lambda: check_resume_dir(missing)) == 2
    assert capsys.readouterr().err.startswith(
        f"tools/train.py: error: --resume_model {str(missing)!r} is not a directory")


def test_opts_item_is_named_as_opts_by_the_library_and_as_the_flag_by_the_cli(tmp_path, capsys):
    from paddleseg_pssl.training.config_loading import load_config

    config = tmp_path / "c{1}.yml"
    config.write_text("batch_size: 2\niters: 10\n")
    with pytest.raises(PSSLConfigError, match=r"^opts item 'model\.x=1': config '.*c\{1\}\.yml' "
                                              r"has no key 'model'"):
        load_config(config, ["model.x=1"])
    with pytest.raises(PSSLConfigError, match=r"^opts item 'x': .*\(e\.g\. opts batch_size=2"):
        load_config(config, ["x"])
    assert common.run_guarded("t", lambda: load_config(config, ["model.x=1"])) == 2
    err = capsys.readouterr().err
    assert err.startswith("t: error: --opts item 'model.x=1'") and "c{1}.yml" in err


def test_a_command_line_names_options_by_their_flags_only_outside_paths_and_values(capsys):
    error = PSSLConfigError("run 4 (processes), or pass batch_size 16 for 'batch_size' in "
                            "out/batch_size.yml or processes.yml", ["processes", "batch_size"])
    assert common.run_guarded("t", _raise(error)) == 2
    assert capsys.readouterr().err == "t: error: run 4 (--nproc_per_node / --gpus), or pass " \
        "--batch_size 16 for 'batch_size' in out/batch_size.yml or processes.yml\n"
