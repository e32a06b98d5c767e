"""One resolver for architecture strings (paddleseg_pssl.model_factory): registered names,
'module:factory' specs, and errors that carry the string and say how to fix it."""
import pytest

from paddleseg_pssl import model_factory
from paddleseg_pssl.model_factory import FactoryError, resolve_factory

REGISTRY = {"tiny": dict, "small": list}


def test_registered_name_and_module_factory_resolve():
    assert resolve_factory("tiny", lambda: REGISTRY) is dict
    assert resolve_factory("paddleseg_pssl.model_factory:resolve_factory") is resolve_factory


def test_module_factory_spec_does_not_ask_the_registry():
    def registry():
        raise AssertionError("the registry is read only for plain names")

    assert resolve_factory("paddleseg_pssl.model_factory:FactoryError", registry) is FactoryError


@pytest.mark.parametrize("spec, match", [
    ("tiyn", r"arch 'tiyn' is not a toy name \(close matches: \['tiny'\]; known: "),
    ("", "arch must be a non-empty string"),
    ("a:", "not of the form 'module:factory'"),
    ("no_such_module_xyz:f", "module 'no_such_module_xyz' cannot be imported"),
    ("paddleseg_pssl.model_factory:resolve_factroy",
     r"has no callable 'resolve_factroy'; close matches: \['resolve_factory'"),
])
def test_errors_carry_the_spec(spec, match):
    with pytest.raises(FactoryError, match=match) as info:
        resolve_factory(spec, lambda: REGISTRY, "a toy name")
    assert info.value.spec == spec and isinstance(info.value, ValueError)


def test_large_registry_lists_only_close_matches():
    names = {f"net{i}": dict for i in range(model_factory.MAX_LISTED_NAMES + 1)}
    with pytest.raises(FactoryError) as info:
        resolve_factory("net1x", lambda: names)
    assert "close matches" in str(info.value) and "known" not in str(info.value)
