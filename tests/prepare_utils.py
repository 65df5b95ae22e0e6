"""Helpers shared by the tests of the recipes' dataset preparation scripts.

Authors
 * speechbrain-style contributors 2026
"""

import importlib.util
import json
import logging
import pathlib

RECIPES_DIR = pathlib.Path(__file__).resolve().parents[1] / "recipes"


def load_recipe_module(recipe, filename):
    """Imports ``recipes/{recipe}/{filename}`` by path.

    Arguments
    ---------
    recipe : str
        The recipe folder, e.g. "ESD".
    filename : str
        The script in it, e.g. "esd_prepare.py".

    Returns
    -------
    module
        The executed module, named after the script.
    """
    path = RECIPES_DIR / recipe / filename
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_manifests(paths):
    """Reads JSON manifests (utf-8).

    Arguments
    ---------
    paths : iterable of str or os.PathLike
        The manifest files.

    Returns
    -------
    list of dict
        The manifests, in the order of ``paths``.
    """
    manifests = []
    for path in paths:
        with open(path, encoding="utf-8") as fin:
            manifests.append(json.load(fin))
    return manifests


def run_logged(caplog, prepare, *args, **kwargs):
    """Runs ``prepare(*args, **kwargs)`` capturing INFO logs in ``caplog``.

    Used by the skip-if-outputs-exist checks, which assert on the result and
    on "Preparation completed in previous run, skipping." in the log.

    Arguments
    ---------
    caplog : pytest.LogCaptureFixture
        The test's caplog fixture.
    prepare : callable
        The preparation function.
    *args, **kwargs
        Its arguments.

    Returns
    -------
    object
        What ``prepare`` returned.
    """
    with caplog.at_level(logging.INFO):
        return prepare(*args, **kwargs)
