"""Every recipe yaml checkpoints every trained module.

A module of ``modules`` that has parameters but is not a recoverable of the
``checkpointer`` keeps its last-epoch weights when the best checkpoint is
recovered (for the test and the export), so the evaluated / exported model
mixes epochs. Each recipe yaml is loaded with HyperPyYAML, with the
overrides of its recipe-test row (``tests/recipes/*.csv``: tiny local
encoders), and the objects are compared by identity.
"""

import csv
import glob
import os
import re
import shlex

import pytest
import speechbrain as sb
from hyperpyyaml import load_hyperpyyaml

from tests.published_layouts import (
    make_emotion2vec_base,
    make_spkrec_ecapa_voxceleb,
)
from tests.tiny_models import (
    build_tiny_hf_text_encoder,
    build_tiny_passt,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def _first_row_per_yaml():
    """``{hparams file: test_debug_flags}`` of the recipe-test rows."""
    rows = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "tests/recipes/*.csv"))):
        with open(path, encoding="utf-8") as fin:
            for row in csv.DictReader(fin):
                rows.setdefault(row["Hparam_file"], row["test_debug_flags"])
    return rows


ROWS = _first_row_per_yaml()


def test_every_recipe_yaml_has_a_recipe_test_row():
    yamls = {
        os.path.relpath(path, ROOT)
        for path in glob.glob(os.path.join(ROOT, "recipes/*/hparams/*.yaml"))
    }
    assert yamls, "no recipe yaml found"
    assert sorted(yamls - set(ROWS)) == []


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """The tiny local encoders the recipe-test rows refer to."""
    root = tmp_path_factory.mktemp("tiny_models")
    return {
        "tiny_bert": build_tiny_hf_text_encoder(str(root / "bert"), "bert"),
        "tiny_roberta": build_tiny_hf_text_encoder(
            str(root / "roberta"), "roberta"
        ),
        "tiny_t5": build_tiny_hf_text_encoder(str(root / "t5"), "t5"),
        # the published layouts (emotion2vec_base, spkrec-ecapa-voxceleb)
        "tiny_emotion2vec": make_emotion2vec_base(str(root / "emotion2vec")),
        "tiny_speaker_model": make_spkrec_ecapa_voxceleb(str(root / "ecapa")),
        "tiny_passt": build_tiny_passt(str(root / "passt.pt")),
    }


def _has_parameters(module):
    """Whether ``module`` has at least one parameter."""
    return any(True for _ in module.parameters())


@pytest.mark.parametrize("hparams_file", sorted(ROWS))
def test_checkpointer_recovers_every_module_with_parameters(
    hparams_file, tiny_models, tmp_path
):
    flags = ROWS[hparams_file]
    for key, value in {"tmp": str(tmp_path), **tiny_models}.items():
        flags = flags.replace("{" + key + "}", value)
    # fake dataset trees are not read when the yaml is loaded
    flags = re.sub(r"\{fake_(\w+)\}", str(tmp_path / r"fake_\1"), flags)
    path, _, overrides = sb.parse_arguments(
        [os.path.join(ROOT, hparams_file), *shlex.split(flags)]
    )
    with open(path, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    recoverables = hparams["checkpointer"].recoverables.values()
    missing = [
        name
        for name, module in hparams["modules"].items()
        if _has_parameters(module)
        and not any(module is obj for obj in recoverables)
    ]
    assert missing == [], (
        f"{hparams_file}: modules {missing} are not checkpointer recoverables"
    )
