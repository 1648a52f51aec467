"""Every docstring example in the package runs and prints what it says (numpydoc ``Examples`` sections)."""

import doctest
import importlib
import pkgutil

import pytest

import aekit

MODULES = sorted(m.name for m in pkgutil.walk_packages(aekit.__path__, "aekit.") if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=True, verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} docstring examples failed"
