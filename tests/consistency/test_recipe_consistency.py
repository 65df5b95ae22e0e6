"""SpeechBrain's recipe consistency rules, enforced on every recipe here.

See ``tests/consistency/rules.py`` for the rules themselves.
"""

import glob
import os

import pytest

from tests.consistency.rules import (
    RECIPE_CSV_COLUMNS,
    missing_docstrings,
    modules_not_checkpointed,
    read_recipe_csv,
    undeclared_modules,
    unused_yaml_keys,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
CSV_FILES = sorted(glob.glob(os.path.join(ROOT, "tests", "recipes", "*.csv")))


def _rows():
    """(csv name, row index, row) of every recipe test row."""
    rows = []
    for path in CSV_FILES:
        _, content = read_recipe_csv(path)
        name = os.path.basename(path)[: -len(".csv")]
        rows += [
            pytest.param(row, id=f"{name}-{i}") for i, row in enumerate(content)
        ]
    return rows


def _path(rel):
    """A repository-relative path made absolute."""
    return os.path.join(ROOT, rel.strip())


def test_every_recipe_folder_has_a_csv():
    folders = sorted(
        os.path.basename(d)
        for d in glob.glob(os.path.join(ROOT, "recipes", "*"))
        if os.path.isdir(d)
    )
    csvs = sorted(os.path.basename(p)[: -len(".csv")] for p in CSV_FILES)
    assert folders == csvs


@pytest.mark.parametrize("path", CSV_FILES, ids=os.path.basename)
def test_recipe_csv_has_speechbrain_columns(path):
    header, rows = read_recipe_csv(path)
    assert header == RECIPE_CSV_COLUMNS
    assert rows, f"{path} lists no recipe"
    dataset = os.path.basename(path)[: -len(".csv")]
    for row in rows:
        assert row["Dataset"] == dataset, row["Dataset"]
        assert row["Task"], "Task is empty"
        assert row["test_debug_flags"].strip(), "test_debug_flags is empty"
        assert row["test_debug_checks"].startswith("file_exists=["), row[
            "test_debug_checks"
        ]


@pytest.mark.parametrize("path", CSV_FILES, ids=os.path.basename)
def test_every_yaml_of_the_dataset_is_listed(path):
    dataset = os.path.basename(path)[: -len(".csv")]
    _, rows = read_recipe_csv(path)
    listed = {_path(row["Hparam_file"]) for row in rows}
    found = set(
        glob.glob(
            os.path.join(ROOT, "recipes", dataset, "**", "*.yaml"),
            recursive=True,
        )
    )
    assert sorted(found - listed) == []


@pytest.mark.parametrize("row", _rows())
def test_listed_files_exist_and_readme_links(row):
    for field in ("Script_file", "Hparam_file", "Readme_file"):
        assert os.path.isfile(_path(row[field])), (field, row[field])
    for rel in row["Data_prep_file"].split():
        assert os.path.isfile(_path(rel)), ("Data_prep_file", rel)
    with open(_path(row["Readme_file"]), encoding="utf-8") as fin:
        readme = fin.read()
    for field in ("Result_url", "HF_repo"):
        for link in row[field].split():
            assert link in readme, f"{field} {link} not in the README"


def _scripts_running(hparam_file):
    """Every ``Script_file`` the csv rows run with ``hparam_file``.

    A yaml may be run by several scripts of its recipe (VoxCeleb:
    ``train.py`` trains with it, ``unlinked_baseline.py`` scores the
    untrained encoders it declares, without optimizers or losses): each of
    its keys must be used by one of them.
    """
    scripts = []
    for path in CSV_FILES:
        for row in read_recipe_csv(path)[1]:
            same = _path(row["Hparam_file"]) == _path(hparam_file)
            if same and row["Script_file"].strip() not in scripts:
                scripts.append(row["Script_file"].strip())
    return scripts


@pytest.mark.parametrize("row", _rows())
def test_every_yaml_key_is_used(row):
    scripts = _scripts_running(row["Hparam_file"])
    unused = unused_yaml_keys(
        _path(row["Hparam_file"]), [_path(s) for s in scripts]
    )
    assert unused == [], (
        f"{row['Hparam_file']}: keys neither referenced in the yaml nor read "
        f"by {' or '.join(scripts)}: {unused}"
    )


@pytest.mark.parametrize("row", _rows())
def test_script_modules_are_declared(row):
    missing = undeclared_modules(
        _path(row["Hparam_file"]), _path(row["Script_file"])
    )
    assert missing == [], missing


@pytest.mark.parametrize("row", _rows())
def test_every_module_is_checkpointed(row):
    """The best checkpoint restores every module (none keeps the weights of
    the last epoch when the model is exported and tested)."""
    missing = modules_not_checkpointed(_path(row["Hparam_file"]))
    assert missing == [], (
        f"{row['Hparam_file']}: modules not in the checkpointer's "
        f"recoverables: {missing}"
    )


def _python_files():
    """Python files of the package, the recipes and the benchmarks."""
    files = []
    for top in ("speechbrain_style", "recipes", "benchmarks"):
        files += glob.glob(
            os.path.join(ROOT, top, "**", "*.py"), recursive=True
        )
    return sorted(files)


def test_every_module_class_and_public_function_has_a_docstring():
    missing = []
    for path in _python_files():
        missing += missing_docstrings(path)
    assert missing == [], "\n".join(
        [f"{len(missing)} without docstring:"]
        + [os.path.relpath(m, ROOT) for m in missing]
    )


def test_rules_catch_what_they_should(tmp_path):
    """The checkers find an unused key, an undeclared module, a missing
    docstring (and accept the SpeechBrain spellings)."""
    yaml = tmp_path / "h.yaml"
    yaml.write_text(
        "seed: 1\n__set_seed: !apply:print [!ref <seed>]\n"
        "lr: 0.1\nunused_key: 3\nbatch_size: 4\n"
        "opt: !name:torch.optim.Adam\n    lr: !ref <lr>\n"
        "modules:\n    enc: 1\n"
    )
    script = tmp_path / "train.py"
    script.write_text(
        '"""Doc."""\n\n'
        "def f(hparams):\n"
        '    """Doc."""\n'
        '    return hparams["batch_size"], hparams["opt"], hparams["modules"]\n'
        "\n\nclass B:\n"
        "    def forward(self):\n"
        "        return self.modules.enc, self.modules.dec\n"
    )
    assert unused_yaml_keys(str(yaml), str(script)) == ["unused_key"]
    # a yaml run by two scripts: a key read by either one is used
    baseline = tmp_path / "baseline.py"
    baseline.write_text('"""Doc."""\nprint(hparams["unused_key"])\n')
    assert unused_yaml_keys(str(yaml), [str(script), str(baseline)]) == []
    assert unused_yaml_keys(str(yaml), [str(baseline)]) == [
        "batch_size",
        "opt",
        "modules",
    ]
    assert undeclared_modules(str(yaml), str(script)) == ["dec"]
    # a module the checkpointer does not save
    saved = tmp_path / "c.yaml"
    saved.write_text(
        "modules:\n    enc: !ref <enc>\n    aux: !ref <aux>\n"
        "checkpointer: !new:speechbrain.utils.checkpoints.Checkpointer\n"
        "    checkpoints_dir: x\n    recoverables:\n"
        "        enc: !ref <enc>\n        counter: !ref <counter>\n"
    )
    assert modules_not_checkpointed(str(saved)) == ["aux"]
    missing = [m.split(" ")[-1] for m in missing_docstrings(str(script))]
    assert missing == ["B", "forward"]
