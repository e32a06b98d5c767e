"""``--opts key=value`` overrides where YAML's null words mean None, in ours and PaddleSeg's.

PaddleSeg 2.8 reads a value with ``ast.literal_eval``, so ``model.pretrained=null`` (or ``~``)
leaves the *string* ``"null"``, which later fails as a missing file. :data:`FIX` makes
PaddleSeg's own ``Config`` rewrite them too.
"""
from typing import Any, List, Optional, Sequence

from paddleseg_pssl.compat.patching import Fix, always, original

#: Values of an override that mean None (YAML's null spellings and Python's).
NULL_WORDS = ("null", "Null", "NULL", "~", "None")

STOCK = "paddleseg.cvlibs.config:update_config_dict"


def normalise(opts: Optional[Sequence[Any]]) -> Optional[List[Any]]:
    """``opts`` with every ``key=<null word>`` rewritten to ``key=None``; None stays None."""
    if opts is None:
        return None
    result = []
    for item in opts:
        if isinstance(item, str) and item.count("=") == 1:
            key, value = item.split("=")
            if value.strip() in NULL_WORDS:
                item = f"{key}=None"
        result.append(item)
    return result


def update_config_dict(dic: dict, learning_rate=None, batch_size=None, iters=None, opts=None):
    """PaddleSeg's ``update_config_dict`` with null words in ``opts`` meaning None."""
    return original(STOCK)(dic, learning_rate=learning_rate, batch_size=batch_size, iters=iters,
                           opts=normalise(opts))


FIX = Fix(name="cvlibs.config.update_config_dict:null-opts", upstream="", is_needed=always,
          patches={STOCK: update_config_dict})
