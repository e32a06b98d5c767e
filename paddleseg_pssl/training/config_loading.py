"""Load a PaddleSeg YAML config, failing early with one clear line.

PaddleSeg reports a bad config with an ``assert`` or a deep traceback; :func:`load_config`
finds the common mistakes first (missing or broken file or ``_base_``, malformed ``opts``,
PaddleSeg's own sanity rules) and raises :class:`~paddleseg_pssl.errors.PSSLConfigError` naming
the file or key. What the config names is checked by :mod:`.config_checks`.
"""
import os
import pathlib
from typing import Any, Dict, Optional, Sequence, Union

from paddleseg.cvlibs import Config
from paddleseg.cvlibs import config_checker

from paddleseg_pssl import yaml_tree
from paddleseg_pssl.errors import PSSLConfigError
from paddleseg_pssl.training import config_opts
from paddleseg_pssl.training.config_checks import close_matches

PathLike = Union[str, os.PathLike]

#: Direct overrides of :func:`load_config`: name and the types a value may have.
_NUMERIC_OVERRIDES = (("learning_rate", (int, float)), ("batch_size", int), ("iters", int))


class PSSLConfig(Config):
    """PaddleSeg's ``Config`` that remembers which file it was read from."""

    def __init__(self, path: PathLike, **kwargs: Any) -> None:
        self.path = str(path)
        super().__init__(self.path, **kwargs)


class _UserFacingChecker(config_checker.ConfigChecker):
    """PaddleSeg's default rules, failing with a one-line :class:`PSSLConfigError`."""

    def __init__(self, path: str) -> None:
        super().__init__(Config._build_default_checker().rule_list, allow_update=True)
        self._path = path

    def apply_rule(self, k: int, cfg: Config) -> None:
        rule = self.rule_list[k]
        try:
            rule.apply(cfg, self.allow_update)
        except (AssertionError, ValueError, KeyError, TypeError) as exc:
            message = " ".join(str(exc).split())
            raise PSSLConfigError(
                f"config {self._path!r} fails PaddleSeg's {type(rule).__name__} check: "
                f"{message}") from exc


def load_config(path: PathLike, opts: Optional[Sequence[str]] = None, *,
                learning_rate: Optional[float] = None, batch_size: Optional[int] = None,
                iters: Optional[int] = None) -> PSSLConfig:
    """Read a PaddleSeg YAML config with ``opts`` (``key.sub=value``, PaddleSeg's ``--opts``)
    and direct overrides, after PaddleSeg's own sanity rules."""
    config_path = yaml_tree.check_config_file(path, "config")
    merged = yaml_tree.read_yaml_tree(config_path)
    _check_numeric_overrides({"learning_rate": learning_rate, "batch_size": batch_size,
                              "iters": iters}, config_path)
    if learning_rate is not None and not isinstance(merged.get("lr_scheduler"), dict):
        raise PSSLConfigError(
            f"learning_rate={learning_rate!r} cannot be applied: config {str(config_path)!r} "
            f"has no lr_scheduler section; add one (e.g. type: PolynomialDecay)")
    opts = config_opts.normalise(opts) if opts else None
    _check_opts(opts or [], merged, config_path)
    return PSSLConfig(config_path, learning_rate=learning_rate, batch_size=batch_size,
                      iters=iters, opts=opts, checker=_UserFacingChecker(str(config_path)))


def check_checkpoint_file(path: PathLike, argument: str = "model_path") -> pathlib.Path:
    """The ``.pdparams`` file ``path`` names, or holds when a checkpoint directory; ``argument``
    (the run option) is named in the error."""
    candidate = pathlib.Path(path)
    if candidate.is_dir():
        candidate = candidate / "model.pdparams"
    if not candidate.is_file():
        raise PSSLConfigError(
            f"{argument} {str(path)!r} does not exist; expected a .pdparams file such as "
            f"output/iter_1000/model.pdparams (or the iter_* directory holding it)", [argument])
    return candidate


def check_resume_dir(path: PathLike) -> pathlib.Path:
    """Check the ``resume_model`` option: an ``iter_<N>`` directory (PaddleSeg reads N from the
    name) holding model and optimizer state."""
    directory = pathlib.Path(path)
    named = f"resume_model {str(path)!r}"
    expected = ("expected a checkpoint directory written by training, such as "
                "output/iter_1000, holding model.pdparams and model.pdopt")
    if not directory.is_dir():
        raise PSSLConfigError(f"{named} is not a directory; {expected}", ["resume_model"])
    if not directory.name.rsplit("_", 1)[-1].isdigit():
        raise PSSLConfigError(f"{named} does not end in _<iteration>; {expected}",
                              ["resume_model"])
    for name in ("model.pdparams", "model.pdopt"):
        if not (directory / name).is_file():
            raise PSSLConfigError(f"{named} has no {name}; {expected}", ["resume_model"])
    return directory


def _check_numeric_overrides(values: Dict[str, Any], path: pathlib.Path) -> None:
    for name, kind in _NUMERIC_OVERRIDES:
        value = values[name]
        if value is not None and (isinstance(value, bool) or not isinstance(value, kind)
                                  or value <= 0):
            raise PSSLConfigError(f"{name}={value!r} for config {str(path)!r}: "
                                  f"expected a positive number")


def _check_opts(opts: Sequence[str], merged: Dict[str, Any], path: pathlib.Path) -> None:
    example = "e.g. opts batch_size=2 model.pretrained=output/iter_10/model.pdparams"
    for item in opts:
        named = f"opts item {item!r}"
        if not isinstance(item, str) or item.count("=") != 1 or item.startswith("="):
            raise PSSLConfigError(f"{named}: expected key=value with exactly one '=' ({example})",
                                  ["opts"])
        keys = item.split("=", 1)[0].split(".")
        node: Any = merged
        for depth, key in enumerate(keys[:-1]):
            if not isinstance(node, dict) or key not in node:
                parent = ".".join(keys[:depth]) or "the top level"
                options = sorted(node) if isinstance(node, dict) else []
                hint = close_matches(key, options)
                suggestion = f" (close matches: {', '.join(hint)})" if hint else ""
                raise PSSLConfigError(
                    f"{named}: config {str(path)!r} has no key {key!r} under "
                    f"{parent}{suggestion}; expected an existing mapping to update", ["opts"])
            node = node[key]
        if not isinstance(node, dict):
            raise PSSLConfigError(f"{named}: {'.'.join(keys[:-1])} in config {str(path)!r} is "
                                  f"not a mapping; expected a dotted path of mapping keys",
                                  ["opts"])
