"""The encoder catalogue (``hparams/speech``, ``hparams/text``): every block
builds its encoder through HyperPyYAML (on tiny local models), and every
recipe yaml's encoder block is, line for line, one of the catalogue's, so
that swapping an encoder is pasting a catalogue block."""

import glob
import os
import re

import pytest
import torch
from hyperpyyaml import load_hyperpyyaml

from tests.tiny_models import (
    build_tiny_emotion2vec,
    build_tiny_hf_text_encoder,
    build_tiny_passt,
    build_tiny_speaker_model,
    build_tiny_ssl_model,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
CATALOGUE = sorted(glob.glob(os.path.join(ROOT, "hparams", "*", "*.yaml")))
RECIPE_YAMLS = sorted(
    glob.glob(os.path.join(ROOT, "recipes", "*", "hparams", "*.yaml"))
)
TINY_ECAPA = {
    "n_mels": 40,
    "ecapa_channels": [16, 16, 16, 16, 48],
    "ecapa_lin_neurons": 16,
}


def encoder_block(text, name):
    """The lines of the top-level ``<name>: !new:...`` block of a yaml."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(rf"^{name}:\s*!new:", line):
            block = [line]
            for rest in lines[i + 1 :]:
                if rest and not rest[0].isspace():
                    break
                if rest.strip():
                    block.append(rest.rstrip())
            return block
    return None


@pytest.fixture(scope="module")
def tiny_sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("catalogue_models")
    return {
        "emotion2vec_source": build_tiny_emotion2vec(str(root / "e2v")),
        "ecapa_pretrained_source": build_tiny_speaker_model(str(root / "spk")),
        "passt_checkpoint": build_tiny_passt(str(root / "passt.pt")),
        "wavlm": build_tiny_ssl_model(str(root / "wavlm"), "wavlm"),
        "wav2vec2": build_tiny_ssl_model(str(root / "w2v"), "wav2vec2"),
        "bert": build_tiny_hf_text_encoder(str(root / "bert"), "bert"),
        "roberta": build_tiny_hf_text_encoder(str(root / "roberta"), "roberta"),
        "t5": build_tiny_hf_text_encoder(str(root / "t5"), "t5"),
    }


def _overrides(path, sources):
    """Tiny-model overrides of a catalogue block."""
    name = os.path.basename(path)[: -len(".yaml")]
    kind = os.path.basename(os.path.dirname(path))
    if kind == "text":
        if name == "minilm":
            return {}
        model = {"roberta_large": "roberta", "flan_t5": "t5"}.get(name, name)
        return {"text_encoder_source": sources[model]}
    if name.startswith("emotion2vec"):
        return {"emotion2vec_source": sources["emotion2vec_source"]}
    if name.startswith("ecapa"):
        extra = {}
        if name == "ecapa_voxceleb":
            extra["ecapa_pretrained_source"] = sources[
                "ecapa_pretrained_source"
            ]
        return {**TINY_ECAPA, **extra}
    if name == "passt":
        return {
            "passt_checkpoint": sources["passt_checkpoint"],
            "passt_embed_dim": 16,
            "passt_depth": 1,
            "passt_num_heads": 2,
            "passt_window_seconds": 0.5,
            "passt_min_last_window_seconds": 0.1,
        }
    return {"ssl_source": sources[name]}


@pytest.mark.parametrize("path", CATALOGUE, ids=os.path.basename)
def test_catalogue_block_builds_its_encoder(path, tiny_sources):
    kind = os.path.basename(os.path.dirname(path))
    sample_rate = 32000 if path.endswith("passt.yaml") else 16000
    with open(path, encoding="utf-8") as fin:
        text = f"sample_rate: {sample_rate}\n" + fin.read()
    hparams = load_hyperpyyaml(text, _overrides(path, tiny_sources))
    encoder = hparams[f"{kind}_encoder"]
    assert isinstance(encoder.output_size, int) and encoder.output_size > 0
    encoder.eval()
    with torch.no_grad():
        if kind == "speech":
            out = encoder(torch.randn(2, sample_rate), torch.ones(2))
        else:
            out = encoder(["A woman whispering.", "Someone shouting."])
    assert out.shape == (2, encoder.output_size)


@pytest.mark.parametrize("path", RECIPE_YAMLS, ids=os.path.basename)
def test_recipe_encoder_blocks_come_from_the_catalogue(path):
    catalogue = {"speech": [], "text": []}
    for cat in CATALOGUE:
        kind = os.path.basename(os.path.dirname(cat))
        with open(cat, encoding="utf-8") as fin:
            catalogue[kind].append(encoder_block(fin.read(), f"{kind}_encoder"))
    with open(path, encoding="utf-8") as fin:
        text = fin.read()
    for kind in ("speech", "text"):
        block = encoder_block(text, f"{kind}_encoder")
        assert block is not None, f"{path}: no `{kind}_encoder: !new:` block"
        assert block in catalogue[kind], (
            f"{path}: its {kind}_encoder block is not one of hparams/{kind}/"
        )


def test_block_extraction():
    text = "a: 1\nx: !new:m.C\n    p: 1\n\n    q: 2\nb: 2\n"
    assert encoder_block(text, "x") == ["x: !new:m.C", "    p: 1", "    q: 2"]
    assert encoder_block(text, "y") is None
