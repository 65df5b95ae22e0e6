"""The consistency rules SpeechBrain applies to its recipes, as functions.

SpeechBrain's CI (``tests/consistency`` of the speechbrain repository)
checks that every recipe yaml is listed in ``tests/recipes/<Dataset>.csv``
with the files it names, that every top-level yaml key is used (referenced
with ``!ref <key>`` in the yaml or read by the recipe's script), that every
``self.modules.<name>`` the script uses is declared under ``modules:``, and
that modules, classes and public functions have docstrings. These are our
own implementations of the same rules, so that recipes written here can be
contributed to SpeechBrain as they are.
"""

import ast
import csv
import re

from speechbrain.utils.run_opts import RunOptions

RECIPE_CSV_COLUMNS = (
    "Task",
    "Dataset",
    "Script_file",
    "Hparam_file",
    "Data_prep_file",
    "Readme_file",
    "Result_url",
    "HF_repo",
    "test_debug_flags",
    "test_debug_checks",
    "performance",
)
"""The columns of SpeechBrain's recipe csv files, in order."""

RUN_OPTIONS = tuple(RunOptions().as_dict())
"""SpeechBrain run options (``--device``, ``--precision``, ...): a yaml may
set them without the script reading them."""

_TOP_LEVEL_KEY = re.compile(r"^([A-Za-z_][\w]*)\s*:(.*)$")
_REFERENCE = re.compile(r"<([A-Za-z_][\w]*)(?:\[[^>]*\])?>")


def yaml_top_level_keys(path):
    """The top-level keys of a yaml file that a script must use.

    As in SpeechBrain's rule, keys whose value is an ``!apply:`` call
    (executed for their side effect, e.g. ``__set_seed``) or a ``!!``
    python tag are not required to be used.

    Arguments
    ---------
    path : str
        The yaml file.

    Returns
    -------
    dict
        ``{key: line number}``.
    """
    keys = {}
    with open(path, encoding="utf-8") as fin:
        for number, line in enumerate(fin, start=1):
            match = _TOP_LEVEL_KEY.match(line.rstrip())
            if not match:
                continue
            value = match.group(2)
            if "!apply" in value or "!!" in value:
                continue
            keys[match.group(1)] = number
    return keys


def yaml_references(path):
    """``{key: [line numbers]}`` of every ``<key>`` reference in a yaml."""
    refs = {}
    with open(path, encoding="utf-8") as fin:
        for number, line in enumerate(fin, start=1):
            code = line.split("#", 1)[0]
            if "!ref" not in code:
                continue
            for name in _REFERENCE.findall(code):
                refs.setdefault(name, []).append(number)
    return refs


def script_uses(script_source, key):
    """Whether a script reads hparams key ``key``.

    The accepted spellings are SpeechBrain's: ``["key"]``, ``hparams.key``,
    ``modules.key``, ``getattr(self.hparams, "key"`` and
    ``hparams.get("key"``.

    Arguments
    ---------
    script_source : str
        The script's text.
    key : str
        The yaml key.

    Returns
    -------
    bool

    Example
    -------
    >>> script_uses('x = hparams["lr"]', "lr")
    True
    >>> script_uses("x = self.hparams.lr_decay", "lr")
    False
    """
    patterns = (
        rf"\[\"{re.escape(key)}\"\]",
        rf"\bhparams\.{re.escape(key)}\b",
        rf"\bmodules\.{re.escape(key)}\b",
        rf"attr\(self\.hparams,\s*\"{re.escape(key)}\"",
        rf"hparams\.get\(\"{re.escape(key)}\"",
    )
    return any(re.search(p, script_source) for p in patterns)


def unused_yaml_keys(hparam_file, script_file):
    """Top-level keys of ``hparam_file`` that nothing uses.

    A key is used when a later line of the yaml references it
    (``!ref <key>``), when the script reads it (see ``script_uses``), or when
    it is a SpeechBrain run option (``--device``, ``--precision``, ...).

    Arguments
    ---------
    hparam_file : str
        The recipe's yaml.
    script_file : str or list of str
        The recipe's ``train.py``; or every script that runs this yaml
        (e.g. a training script and a baseline that reuses its encoders):
        a key is then used when one of them reads it.

    Returns
    -------
    list of str
        The unused keys, in file order.
    """
    keys = yaml_top_level_keys(hparam_file)
    refs = yaml_references(hparam_file)
    scripts = [script_file] if isinstance(script_file, str) else script_file
    sources = []
    for path in scripts:
        with open(path, encoding="utf-8") as fin:
            sources.append(fin.read())
    unused = []
    for key, line in keys.items():
        if key in RUN_OPTIONS:
            continue
        if any(ref_line > line for ref_line in refs.get(key, ())):
            continue
        if any(script_uses(source, key) for source in sources):
            continue
        unused.append(key)
    return unused


def yaml_modules(hparam_file):
    """Names declared under the top-level ``modules:`` dict of a yaml."""
    names, inside = [], False
    with open(hparam_file, encoding="utf-8") as fin:
        for line in fin:
            if re.match(r"^modules\s*:", line):
                inside = True
                continue
            if inside:
                if line.strip() == "" or line.lstrip().startswith("#"):
                    continue
                if not line[0].isspace():
                    break
                match = re.match(r"^\s+([A-Za-z_]\w*)\s*:", line)
                if match:
                    names.append(match.group(1))
    return names


def checkpointer_recoverables(hparam_file):
    """Names under ``recoverables:`` of the top-level ``checkpointer``."""
    names, inside, recoverables, indent = [], False, False, None
    with open(hparam_file, encoding="utf-8") as fin:
        for line in fin:
            if re.match(r"^checkpointer\s*:", line):
                inside = True
                continue
            if not inside or line.strip() == "" or line.lstrip()[0] == "#":
                continue
            if not line[0].isspace():
                break
            if re.match(r"^\s+recoverables\s*:", line):
                recoverables = True
                continue
            match = re.match(r"^(\s+)([A-Za-z_]\w*)\s*:", line)
            if recoverables and match:
                indent = indent or match.group(1)
                if match.group(1) == indent:
                    names.append(match.group(2))
    return names


def modules_not_checkpointed(hparam_file):
    """Modules of ``modules:`` that the checkpointer does not save.

    Such a module keeps its last-epoch weights when the best checkpoint is
    recovered (before the export and the test), so a trained model mixes
    epochs.

    Arguments
    ---------
    hparam_file : str
        The recipe's yaml.

    Returns
    -------
    list of str
    """
    saved = set(checkpointer_recoverables(hparam_file))
    return [name for name in yaml_modules(hparam_file) if name not in saved]


def undeclared_modules(hparam_file, script_file):
    """``self.modules.<name>`` of the script missing from ``modules:``.

    Names the script only uses behind ``hasattr(self.modules, "<name>")``
    or ``"<name>" in self.modules`` are optional and not reported.

    Arguments
    ---------
    hparam_file : str
        The recipe's yaml.
    script_file : str
        The recipe's script.

    Returns
    -------
    list of str
    """
    with open(script_file, encoding="utf-8") as fin:
        source = fin.read()
    used = set(re.findall(r"self\.modules\.([A-Za-z_]\w*)", source))
    used -= {"parameters", "keys", "eval", "train", "values", "items", "to"}
    optional = set(
        re.findall(r"hasattr\(self\.modules,\s*\"(\w+)\"", source)
    ) | set(re.findall(r"\"(\w+)\"\s+in\s+self\.modules", source))
    return sorted(used - optional - set(yaml_modules(hparam_file)))


def read_recipe_csv(path):
    """The header and rows of a recipe csv (``csv.DictReader`` rows)."""
    with open(path, newline="", encoding="utf-8") as fin:
        reader = csv.DictReader(fin, skipinitialspace=True)
        rows = list(reader)
        return tuple(reader.fieldnames or ()), rows


def missing_docstrings(path):
    """Modules, classes and public functions of a file without docstring.

    Every module needs one; every class; every function or method whose
    name does not start with ``_`` (nested ones included), as SpeechBrain's
    ``check_docstrings`` requires.

    Arguments
    ---------
    path : str
        A Python file.

    Returns
    -------
    list of str
        ``"<path>:<line> <name>"`` for each missing docstring.
    """
    with open(path, encoding="utf-8") as fin:
        tree = ast.parse(fin.read())
    missing = []
    if ast.get_docstring(tree) is None:
        missing.append(f"{path}:1 <module>")
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            public = True
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            public = not node.name.startswith("_")
        else:
            continue
        if public and ast.get_docstring(node) is None:
            missing.append(f"{path}:{node.lineno} {node.name}")
    return missing
