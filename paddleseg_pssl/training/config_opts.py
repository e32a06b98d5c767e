"""``--opts key=value`` overrides where YAML's null words mean None, in ours and PaddleSeg's.

PaddleSeg 2.8 turns an override's value into Python with ``ast.literal_eval``, so
``model.pretrained=None`` clears a key but ``model.pretrained=null`` (the YAML spelling) or
``~`` leaves the *string* ``"null"``, which later fails as a missing file. :func:`normalise`
rewrites those values to ``None``; :func:`install` makes PaddleSeg's own ``Config`` (used by
its ``tools/*.py``) do the same.
"""
import sys
from typing import Any, Callable, List, Optional, Sequence

#: Values of an override that mean None (YAML's null spellings and Python's).
NULL_WORDS = ("null", "Null", "NULL", "~", "None")

#: The replacement ``ast.literal_eval`` turns into None.
_PYTHON_NONE = "None"

#: Name of this fix in the import-time log (see ``paddleseg_pssl.plugin``).
FIX_NAME = "cvlibs.config.update_config_dict:null-opts"

_STOCK_MODULE = "paddleseg.cvlibs.config"
_STOCK_NAME = "update_config_dict"
_MARKER = "__pssl_null_opts__"


def normalise(opts: Optional[Sequence[Any]]) -> Optional[List[Any]]:
    """``opts`` with every ``key=<null word>`` rewritten to ``key=None``; None stays None."""
    if opts is None:
        return None
    result = []
    for item in opts:
        if isinstance(item, str) and item.count("=") == 1:
            key, value = item.split("=")
            if value.strip() in NULL_WORDS:
                item = f"{key}={_PYTHON_NONE}"
        result.append(item)
    return result


def _wrap(stock: Callable) -> Callable:
    def update_config_dict(dic: dict, learning_rate=None, batch_size=None, iters=None,
                           opts=None):
        """PaddleSeg's ``update_config_dict`` with null words in ``opts`` meaning None."""
        return stock(dic, learning_rate=learning_rate, batch_size=batch_size, iters=iters,
                     opts=normalise(opts))

    setattr(update_config_dict, _MARKER, True)
    return update_config_dict


def is_installed() -> bool:
    """True when PaddleSeg's ``Config`` reads null words in ``opts`` as None."""
    module = sys.modules.get(_STOCK_MODULE)
    return bool(module and getattr(getattr(module, _STOCK_NAME, None), _MARKER, False))


def install() -> bool:
    """Make PaddleSeg's ``Config`` read null words in ``opts`` as None; idempotent.

    Returns True when this call installed it.
    """
    __import__(_STOCK_MODULE)
    module = sys.modules[_STOCK_MODULE]
    current = getattr(module, _STOCK_NAME)
    if getattr(current, _MARKER, False):
        return False
    setattr(module, _STOCK_NAME, _wrap(current))
    return True
