"""Tests of the shared encoder blocks (hparams/speech, hparams/text)."""

import os

import pytest

from speechbrain_style.blocks import HPARAMS_DIR, block_path, load_block


def test_every_shipped_block_resolves():
    names = []
    for kind in ("speech", "text"):
        for fname in os.listdir(os.path.join(HPARAMS_DIR, kind)):
            if fname.endswith(".yaml"):
                names.append(f"{kind}/{fname[:-5]}")
    assert "speech/ecapa_small" in names and "text/minilm" in names
    for name in names:
        assert block_path(name).endswith(name.split("/")[1] + ".yaml")


def test_load_block_with_overrides_builds_the_encoder():
    block = load_block("speech/ecapa_small", {"lin_neurons": 24})
    assert block["output_size"] == 24
    assert block["encoder"].output_size == 24


def test_unknown_block_and_bad_override_are_clear_errors():
    with pytest.raises(FileNotFoundError, match="speech/ecapa_small"):
        load_block("speech/no_such_encoder")
    with pytest.raises(Exception, match="not_a_key"):
        load_block("speech/ecapa_small", {"not_a_key": 1})


def test_prosody_block_wraps_a_base_block_and_forwards_its_overrides():
    pytest.importorskip("parselmouth")
    from speechbrain_style.lobes.prosody import ProsodyFusion

    # a recipe's own overrides of its speech block (here ECAPA's sizes) go
    # on to the wrapped block; the prosody block's own keys stay its own
    block = load_block(
        "speech/prosody",
        {"lin_neurons": 24, "n_mels": 20, "prosody_size": 8},
    )
    encoder = block["encoder"]
    assert isinstance(encoder, ProsodyFusion)
    assert encoder.speech_encoder.output_size == 24
    assert encoder.speech_encoder.init_kwargs["n_mels"] == 20
    assert encoder.prosody_encoder.output_size == 8
    assert block["output_size"] == 32
    # explicit base_overrides win over forwarded keys
    block = load_block(
        "speech/prosody",
        {"lin_neurons": 24, "base_overrides": {"lin_neurons": 16}},
    )
    assert block["encoder"].speech_encoder.output_size == 16
