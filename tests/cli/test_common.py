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
