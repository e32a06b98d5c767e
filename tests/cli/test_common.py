"""The tools' shared main: user errors and Ctrl-C end in one stderr line and a documented status."""
import argparse

import pytest

from paddleseg_pssl.cli import common
from paddleseg_pssl.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, PSSLConfigError


def _raise(exc: BaseException):
    def body():
        raise exc
    return body


def test_config_error_is_one_line_and_status_2(capsys):
    assert common.run_guarded("tools/x.py", _raise(PSSLConfigError("key 'a': bad"))) == EXIT_BAD_INPUT
    assert capsys.readouterr().err == "tools/x.py: error: key 'a': bad\n"


def test_ctrl_c_is_one_line_and_status_130(capsys):
    assert common.run_guarded("tools/x.py", _raise(KeyboardInterrupt())) == EXIT_INTERRUPTED == 130
    assert capsys.readouterr().err == "tools/x.py: interrupted (Ctrl-C)\n"


def test_status_of_the_body_is_returned():
    assert common.run_guarded("tools/x.py", lambda: None) == 0
    assert common.run_guarded("tools/x.py", lambda: 3) == 3


def test_required_args_are_added_in_order_and_required():
    parser = argparse.ArgumentParser(prog="tools/x.py")
    common.add_required_args(parser, {"config": "the config", "output": "a folder"})
    assert vars(parser.parse_args(["--output", "o", "--config", "c"])) == {
        "config": "c", "output": "o"}
    with pytest.raises(SystemExit):
        parser.parse_args(["--config", "c"])


def test_library_error_names_the_argument_and_the_cli_the_flag(tmp_path, capsys):
    """One OptionError: a Python caller reads ``resume_model``/``opts``, a command line the flag."""
    from paddleseg_pssl.errors import OptionError
    from paddleseg_pssl.training.config_loading import check_resume_dir

    missing = tmp_path / "iter_9"
    with pytest.raises(OptionError, match=r"^resume_model '.*iter_9' is not a directory"):
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


def test_a_command_line_can_spell_an_option_its_own_way(capsys):
    from paddleseg_pssl.errors import OptionError

    flags = common.flag_names({"processes": "--nproc_per_node / --gpus"})
    error = OptionError("run 4 ({processes}), or pass {batch_size} 16")
    assert str(error) == "run 4 (processes), or pass batch_size 16"
    assert common.run_guarded("t", _raise(error), flags) == 2
    assert capsys.readouterr().err == "t: error: run 4 (--nproc_per_node / --gpus), or pass " \
                                      "--batch_size 16\n"
