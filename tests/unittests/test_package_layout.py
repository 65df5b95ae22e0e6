"""The package's layout: no import circles, no use of moved paths, and the
old flat module paths still import (with a DeprecationWarning)."""

import ast
import importlib
import os
import subprocess
import sys
import warnings

import pytest

from speechbrain_style._moved import MOVED_MODULES, targets_of

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
PACKAGE = os.path.join(ROOT, "speechbrain_style")


def _package_modules():
    """{module name: file path} of every module of the package."""
    modules = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, ROOT)[: -len(".py")]
            parts = rel.split(os.sep)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _imports(path, modules):
    """(line, imported module) pairs of a file, resolved to package modules
    (``from a.b import c`` is module ``a.b.c`` when that is a module)."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                target = sub if sub in modules else node.module
                found.append((node.lineno, target))
    return [
        (line, name)
        for line, name in found
        if name.split(".")[0] == "speechbrain_style"
    ]


def _graph():
    """The package's import graph: {module: {imported package modules}}."""
    modules = _package_modules()
    graph = {}
    for name, path in modules.items():
        edges = set()
        for _, target in _imports(path, modules):
            if target in modules and target != name:
                edges.add(target)
        graph[name] = edges
    return graph


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, result = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return result


def test_cycle_finder_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_one_that_imports_it_back():
    cycles = _cycles(_graph())
    assert not cycles, f"import circles: {cycles}"


def test_no_code_uses_a_moved_module_path():
    """The package, recipes, tests and benchmarks import the new paths."""
    modules = _package_modules()
    replaced_packages = {
        "speechbrain_style.evaluation",
        "speechbrain_style.prompts",
    }
    offenders = []
    for top in ("speechbrain_style", "recipes", "tests", "benchmarks"):
        for folder, _, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if not name.endswith(".py") or name == "_moved.py":
                    continue
                path = os.path.join(folder, name)
                if name == "test_package_layout.py":
                    continue
                tree = ast.parse(open(path, encoding="utf-8").read())
                for node in ast.walk(tree):
                    if isinstance(node, ast.ImportFrom) and node.module:
                        names = [a.name for a in node.names]
                        if node.module in MOVED_MODULES or (
                            node.module in replaced_packages
                            and any(
                                f"{node.module}.{n}" not in modules
                                for n in names
                            )
                        ):
                            offenders.append(f"{path}:{node.lineno}")
                    elif isinstance(node, ast.Import):
                        offenders += [
                            f"{path}:{node.lineno}"
                            for a in node.names
                            if a.name in MOVED_MODULES
                        ]
    assert not offenders, offenders


def test_moved_modules_point_at_existing_modules():
    modules = _package_modules()
    for old in MOVED_MODULES:
        for new in targets_of(old):
            assert new in modules, (old, new)
        assert old not in modules, f"{old} is both moved and present"


@pytest.mark.parametrize(
    "old, name, new",
    [
        ("speechbrain_style.index", "StyleIndex", "retrieval.index"),
        ("speechbrain_style.losses", "InfoNCELoss", "nnet.losses"),
        (
            "speechbrain_style.synth",
            "STYLE_FACTORS",
            "corpora.stylesynth.synth",
        ),
        # a module split in several: each name from its new home
        ("speechbrain_style.speaker", "AAMSpeakerLoss", "nnet.speaker_loss"),
        ("speechbrain_style.speaker", "lda_align", "retrieval.alignment"),
        (
            "speechbrain_style.speaker",
            "speaker_retrieval_metrics",
            "evaluation.speaker",
        ),
        ("speechbrain_style.speaker", "tsne_plot", "evaluation.plots"),
    ],
)
def test_old_module_path_imports_with_a_warning(old, name, new):
    code = (
        "import warnings, importlib\n"
        "warnings.simplefilter('always')\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        f"    from {old} import {name} as value\n"
        f"new = importlib.import_module('speechbrain_style.{new}')\n"
        f"assert value is new.{name}\n"
        "messages = [str(w.message) for w in caught\n"
        "            if issubclass(w.category, DeprecationWarning)]\n"
        f"assert any('speechbrain_style.{new}' in m for m in messages), "
        "messages\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=ROOT),
    )
    assert proc.returncode == 0, proc.stderr


def test_replaced_module_names_resolve_in_the_new_package():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        evaluation = importlib.import_module("speechbrain_style.evaluation")
        evaluator = evaluation.RetrievalEvaluator
    from speechbrain_style.evaluation.retrieval import RetrievalEvaluator

    assert evaluator is RetrievalEvaluator
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)
    with pytest.raises(AttributeError):
        evaluation.no_such_name  # noqa: B018
