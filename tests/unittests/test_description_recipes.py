"""Consistency of the description recipes (Descriptions, ParaSpeechCaps,
TextrolSpeech, LibriTTS-P) share one Brain and one data pipeline (every
yaml key used: tests/consistency)."""

import ast
import os

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
