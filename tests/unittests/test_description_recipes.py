"""Consistency of the description recipes (Descriptions, ParaSpeechCaps,
TextrolSpeech, LibriTTS-P): one Brain and one data pipeline, and every
yaml key used (SpeechBrain's check_yaml rule)."""

import ast
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
RECIPES = {
    "Descriptions": [
        "descriptions_ecapa_minilm.yaml",
        "stylesynth_ecapa_minilm.yaml",
    ],
    "ParaSpeechCaps": ["paraspeechcaps_ecapa_minilm.yaml"],
    "TextrolSpeech": ["textrolspeech_ecapa_minilm.yaml"],
    "LibriTTS-P": ["libritts_p_ecapa_minilm.yaml"],
}
SHARED = ("DescriptionBrain", "dataio_prepare")
BASE_BRAIN_KEYS = {"encoder_opt_class", "head_opt_class", "train_logger"}
"""Keys read by speechbrain_style.brain.StyleRetrievalBrain itself (the two
optimizers and the training log), not by the recipe's script."""


def _definitions(path):
    """{name: source} of the top-level classes and functions of a file."""
    source = open(path, encoding="utf-8").read()
    tree = ast.parse(source)
    return {
        node.name: ast.get_source_segment(source, node)
        for node in tree.body
        if isinstance(node, (ast.ClassDef, ast.FunctionDef))
    }


def test_every_description_recipe_shares_the_brain_and_data_pipeline():
    reference = _definitions(
        os.path.join(ROOT, "recipes", "Descriptions", "train.py")
    )
    for recipe in RECIPES:
        found = _definitions(os.path.join(ROOT, "recipes", recipe, "train.py"))
        for name in SHARED:
            assert found[name] == reference[name], (recipe, name)


def _top_level_keys(path):
    keys = []
    for line in open(path, encoding="utf-8"):
        match = re.match(r"^([A-Za-z_][\w]*):", line)
        if match and not match.group(1).startswith("__"):
            keys.append(match.group(1))
    return keys


@pytest.mark.parametrize(
    "recipe,yaml_file",
    [(r, y) for r, files in RECIPES.items() for y in files],
)
def test_every_yaml_key_is_used(recipe, yaml_file):
    folder = os.path.join(ROOT, "recipes", recipe)
    text = open(os.path.join(folder, "hparams", yaml_file)).read()
    script = open(os.path.join(folder, "train.py")).read()
    refs = set(re.findall(r"<([\w]+)(?:\[[^>]*\])?>", text))
    unused = []
    for key in _top_level_keys(os.path.join(folder, "hparams", yaml_file)):
        used = (
            key in refs
            or f'hparams["{key}"]' in script
            or f"hparams.{key}" in script
            or key in BASE_BRAIN_KEYS
            or (
                key.endswith("_annotation")
                and 'hparams[f"{split}_annotation"]' in script
            )
        )
        if not used:
            unused.append(key)
    assert not unused, f"{yaml_file}: keys neither !ref'd nor read: {unused}"
