"""Reading the generation config: a YAML file with PaddleSeg's ``_base_`` inheritance,
``--opts dotted.key=value`` and CLI overrides, then :func:`~.generate_config.validate`."""
import copy
from typing import Any, Dict, Iterable, Mapping, Optional

import yaml

from paddleseg_pssl.consensus.run.generate_config import ConfigError, GenerateConfig, validate
from paddleseg_pssl.errors import PSSLConfigError
from paddleseg_pssl.yaml_tree import read_yaml_tree


def load_yaml(path: str) -> Dict[str, Any]:
    """The YAML config at ``path`` with its ``_base_`` chain merged in, as PaddleSeg merges it."""
    try:
        return read_yaml_tree(path)
    except PSSLConfigError as exc:
        raise ConfigError("config", str(exc)) from None  # the file itself: --config


def _parse_value(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_opts(cfg: Dict[str, Any], opts: Iterable[str]) -> Dict[str, Any]:
    """Apply ``key=value`` overrides (YAML values); dotted keys index mappings, integers lists."""
    out = copy.deepcopy(cfg)
    for opt in opts or []:
        if "=" not in opt:
            raise ConfigError(str(opt), "an override must look like key=value "
                                        "(e.g. resolution.short_side=256)")
        dotted, _, raw = opt.partition("=")
        dotted = dotted.strip()
        parts = dotted.split(".")
        if not dotted or any(not p for p in parts):
            raise ConfigError(dotted, f"malformed key in override {opt!r}")
        node: Any = out
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            where = ".".join(parts[: depth + 1])
            if isinstance(node, list):
                if not part.lstrip("-").isdigit() or not -len(node) <= int(part) < len(node):
                    raise ConfigError(where, f"index {part!r} is not valid for a list of "
                                             f"{len(node)} entries")
                key: Any = int(part)
            elif isinstance(node, dict):
                key = part
            else:
                raise ConfigError(where, f"cannot set a key inside "
                                         f"{'.'.join(parts[:depth])!r}, which is "
                                         f"{type(node).__name__} {node!r}")
            if last:
                node[key] = _parse_value(raw)
            else:
                if isinstance(node, dict) and (key not in node or node[key] is None):
                    node[key] = {}
                node = node[key]
    return out


def load_config(path: Optional[str], opts: Iterable[str] = (),
                overrides: Optional[Mapping[str, Any]] = None) -> GenerateConfig:
    """Load ``path`` (with its ``_base_`` chain), apply ``--opts`` and ``overrides``, validate."""
    raw = apply_opts(load_yaml(path) if path else {}, opts)
    for dotted, value in (overrides or {}).items():
        node = raw
        parts = dotted.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return validate(raw)
