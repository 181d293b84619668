"""Every public function and class has a docstring (the API reference is built from them).

"Public" means: defined in a module of ``vegan.ot``, ``vegan.data``,
``vegan.nets``, ``vegan.models``, ``vegan.train`` or ``vegan.eval`` whose
name does not start with an underscore, under a name without one. A
dataclass whose only docstring is the one ``dataclasses`` writes
(``Name(field: type, ...)``) counts as missing.

``KNOWN_MISSING`` lists the names that lacked one when this test was
written: the test fails on any *other* name (a new function without a
docstring) and on a listed name that has one now (delete it from the list,
so the list only shrinks).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil

import pytest

PACKAGES = ("vegan.ot", "vegan.data", "vegan.nets", "vegan.models", "vegan.train", "vegan.eval")

#: Public names without a docstring; shrink this list, never grow it.
KNOWN_MISSING: set[str] = set()


def _modules() -> list[str]:
    out = []
    for name in PACKAGES:
        package = importlib.import_module(name)
        out.append(name)
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                out.append(f"{name}.{info.name}")
    return out


def _has_docstring(obj) -> bool:
    doc = (obj.__doc__ or "").strip()
    if not doc:
        return False
    if (
        inspect.isclass(obj)
        and dataclasses.is_dataclass(obj)
        and doc.startswith(obj.__name__ + "(")
    ):
        return False  # written by dataclasses, says nothing
    return True


def public_objects():
    """(qualified name, object) of every public function and class, by defining module."""
    for modname in _modules():
        module = importlib.import_module(modname)
        for name, obj in vars(module).items():
            if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if getattr(obj, "__module__", None) != modname:
                continue  # imported from elsewhere: checked where it is defined
            yield f"{modname}.{name}", obj


def missing_docstrings() -> list[str]:
    return sorted(q for q, obj in public_objects() if not _has_docstring(obj))


def test_every_module_has_a_docstring():
    bare = [m for m in _modules() if not (importlib.import_module(m).__doc__ or "").strip()]
    assert not bare, f"modules without a docstring: {bare}"


def test_no_new_public_name_without_docstring():
    new = sorted(set(missing_docstrings()) - KNOWN_MISSING)
    assert not new, (
        "public functions/classes without a docstring (say what it computes and cite the "
        f"equation): {new}"
    )


def test_known_missing_list_only_shrinks():
    fixed = sorted(KNOWN_MISSING - set(missing_docstrings()))
    if fixed:
        pytest.fail(
            f"these now have docstrings (or are gone): delete them from KNOWN_MISSING: {fixed}"
        )


def test_public_api_shortcuts_are_documented():
    """The names users meet first: the top-level shortcuts and each package's ``__all__``."""
    import vegan

    bare = []
    for name in ("fit", "load", "build", "recipes", "wasserstein", "load_dataset"):
        if not _has_docstring(getattr(vegan, name)):
            bare.append(f"vegan.{name}")
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and not _has_docstring(obj):
                bare.append(f"{package}.{name}")
    assert not bare, f"public API without a docstring: {bare}"


def test_recipes_name_their_equation():
    from vegan.models import list_recipes

    for r in list_recipes():
        assert r.equation.strip(), f"recipe {r.name} does not name its equation"
        assert r.summary.strip(), f"recipe {r.name} has no summary"
