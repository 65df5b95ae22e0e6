"""setup.py declares truthful ranges; requirements.txt pins inside them."""

import ast
import os
import sys
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def _setup_literals():
    """The literal module-level assignments of setup.py."""
    with open(os.path.join(ROOT, "setup.py"), encoding="utf-8") as fin:
        tree = ast.parse(fin.read())
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                try:
                    values[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    pass
    return values


def _requirements_txt():
    """The requirements of requirements.txt."""
    with open(os.path.join(ROOT, "requirements.txt"), encoding="utf-8") as f:
        lines = (line.split("#")[0].strip() for line in f)
        return [Requirement(line) for line in lines if line]


SETUP = _setup_literals()
INSTALL = {
    canonicalize_name(req.name): req
    for req in map(Requirement, SETUP["install_requires"])
}
PINNED = {canonicalize_name(req.name): req for req in _requirements_txt()}


def test_python_requires_is_truthful():
    # the package uses zip(strict=...) and `int | np.integer` (Python 3.10)
    spec = SpecifierSet(SETUP["python_requires"])
    assert Version("3.9") not in spec
    assert Version("3.10") in spec
    running = ".".join(map(str, sys.version_info[:2]))
    assert Version(running) in spec


def test_install_requires_are_ranges_not_pins():
    for name, req in INSTALL.items():
        operators = {spec.operator for spec in req.specifier}
        assert operators, f"{name} has no version range"
        assert not operators & {"==", "==="}, f"{name} is pinned: {req}"
        assert "<" in operators, f"{name} has no upper bound: {req}"


def test_requirements_pin_the_declared_packages_within_their_ranges():
    assert set(PINNED) == set(INSTALL)
    for name, pinned in PINNED.items():
        exact = [s.version for s in pinned.specifier if s.operator == "=="]
        if exact:
            assert INSTALL[name].specifier.contains(exact[0]), (
                f"requirements.txt pins {pinned}, outside setup.py's "
                f"{INSTALL[name]}"
            )
    for name in ("torch", "torchaudio", "protobuf"):
        assert any(s.operator == "==" for s in PINNED[name].specifier), name


@pytest.mark.parametrize("name", sorted(INSTALL))
def test_installed_stack_satisfies_the_ranges(name):
    installed = metadata.version(name)
    assert INSTALL[name].specifier.contains(installed, prereleases=True)
    assert PINNED[name].specifier.contains(installed, prereleases=True)
