"""The lobes load the published repository layouts (tests/published_layouts)
through the user code path, strictly: a missing or unexpected weight fails
with its name (``strict=False``: a warning naming it)."""

import logging
import os
import sys

import pytest
import torch

from speechbrain_style.lobes import (
    ECAPASpeechEncoder,
    Emotion2VecEncoder,
    HFTextEncoder,
    PaSSTEncoder,
)
from speechbrain_style.lobes.loading import CheckpointMismatchError
from tests import published_layouts as layouts
from tests.catalogue import load_block

TEXTS = ["A calm voice.", "an angry man shouting loudly", "sad"]


def _files(folder):
    """Relative paths of the files under ``folder``."""
    return sorted(
        os.path.relpath(os.path.join(root, name), folder)
        for root, _, names in os.walk(folder)
        for name in names
    )


def _assert_weights_equal(module, expected, skip=()):
    """Every entry of ``expected`` (minus ``skip`` prefixes) is loaded."""
    state = module.state_dict()
    compared = 0
    for key, value in expected.items():
        if key.startswith(tuple(skip)):
            continue
        assert torch.equal(state[key], value), key
        compared += 1
    assert compared == len(state)  # and nothing else is in the module


# ---------------------------------------------------------------------- #
# emotion2vec
# ---------------------------------------------------------------------- #
def _funasr_model(folder, hub):
    """The model funasr's own AutoModel loads from ``folder``."""
    from speechbrain_style.lobes.emotion2vec import import_funasr

    AutoModel, _ = import_funasr()
    threads = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        model = AutoModel(
            model=str(folder),
            hub=hub,
            device="cpu",
            ncpu=threads,
            disable_update=True,
            disable_pbar=True,
            log_level="ERROR",
        ).model
    torch.set_num_threads(threads)
    return model


@pytest.mark.parametrize("hub", ["hf", "ms"])
def test_emotion2vec_base_layout_loads_like_funasr(tmp_path, hub, no_network):
    folder = layouts.make_emotion2vec_base(tmp_path / "emotion2vec_base", hub)
    expected_files = layouts.FILES["emotion2vec_base"]
    if hub == "ms":
        expected_files = sorted(expected_files + ["example/test.wav"])
    assert _files(folder) == expected_files  # no model.pt
    # the user path: the shared block with `source` overridden
    encoder = load_block(
        "speech/emotion2vec",
        {"emotion2vec_source": str(folder)},
        {"hub": hub},
    )
    assert isinstance(encoder, Emotion2VecEncoder)
    checkpoint = torch.load(
        os.path.join(folder, "emotion2vec_base.pt"), weights_only=True
    )
    weights = checkpoint["model"]
    assert "_ema" in weights
    skip = ("_ema", "modality_encoders.AUDIO.decoder.")
    assert any(k.startswith(skip[1]) for k in weights)
    _assert_weights_equal(encoder.model, weights, skip)
    # funasr itself reads this layout to the same weights
    reference = _funasr_model(folder, hub).state_dict()
    for key, value in encoder.model.state_dict().items():
        assert torch.equal(reference[key], value), key
    out = encoder(torch.randn(2, 8000), torch.tensor([1.0, 0.6]))
    assert out.shape == (2, encoder.output_size)


@pytest.mark.parametrize("nesting", [None, "state_dict"])
def test_emotion2vec_plus_layout_loads_like_funasr(tmp_path, nesting):
    folder = layouts.make_emotion2vec_plus(
        tmp_path / "emotion2vec_plus_base", nesting=nesting
    )
    assert _files(folder) == layouts.FILES["emotion2vec_plus"]
    encoder = Emotion2VecEncoder(source=str(folder), freeze=True)
    weights = torch.load(os.path.join(folder, "model.pt"), weights_only=True)
    weights = weights if nesting is None else weights[nesting]
    assert "proj.weight" in weights  # the 9-class emotion classifier
    _assert_weights_equal(encoder.model, weights, skip=("proj.",))
    assert encoder.model.proj is None
    reference = _funasr_model(folder, "hf")
    assert reference.proj.out_features == 9  # funasr built the classifier
    reference = reference.state_dict()
    for key, value in encoder.model.state_dict().items():
        assert torch.equal(reference[key], value), key


def _edit_checkpoint(path, drop=None, add=None):
    """Removes / adds an entry of a flat checkpoint file."""
    state = torch.load(path, weights_only=True)
    if drop is not None:
        del state[drop]
    if add is not None:
        state[add] = torch.zeros(3)
    torch.save(state, path)


def test_emotion2vec_missing_or_unexpected_keys_fail(tmp_path, caplog):
    missing = layouts.make_emotion2vec_plus(tmp_path / "missing")
    key = "blocks.1.attn.qkv.weight"
    _edit_checkpoint(os.path.join(missing, "model.pt"), drop=key)
    with pytest.raises(CheckpointMismatchError, match="missing.*" + key):
        Emotion2VecEncoder(source=str(missing))
    extra = layouts.make_emotion2vec_plus(tmp_path / "extra")
    _edit_checkpoint(os.path.join(extra, "model.pt"), add="blocks.9.gamma")
    with pytest.raises(CheckpointMismatchError, match="unexpected.*blocks.9"):
        Emotion2VecEncoder(source=str(extra))
    with caplog.at_level(logging.WARNING):  # the shared block's override
        encoder = load_block(
            "speech/emotion2vec",
            {"emotion2vec_source": str(missing)},
            {"strict": False},
        )
    assert key in caplog.text and "missing" in caplog.text
    assert encoder.init_kwargs["strict"] is False


def test_emotion2vec_folder_errors_name_the_files(tmp_path):
    folder = layouts.make_emotion2vec_base(tmp_path / "partial")
    os.remove(os.path.join(folder, "emotion2vec_base.pt"))
    with pytest.raises(FileNotFoundError, match="emotion2vec_base.pt"):
        Emotion2VecEncoder(source=str(folder))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="configuration.json"):
        Emotion2VecEncoder(source=str(tmp_path / "empty"))


# ---------------------------------------------------------------------- #
# speechbrain/spkrec-ecapa-voxceleb
# ---------------------------------------------------------------------- #
SPK_SIZES = {"n_mels": 40, "channels": [16, 16, 16, 16, 48], "lin_neurons": 16}


def test_spkrec_layout_matches_speechbrains_encoder_classifier(
    tmp_path, no_network
):
    from speechbrain.inference.classifiers import EncoderClassifier

    folder = str(tmp_path / "spkrec-ecapa-voxceleb")
    layouts.make_spkrec_ecapa_voxceleb(folder)
    assert _files(folder) == layouts.FILES["spkrec_ecapa_voxceleb"]
    # SpeechBrain's own inference class loads the fixture (as a user does
    # with a local copy of the hub repository)
    classifier = EncoderClassifier.from_hparams(
        source=folder,
        savedir=str(tmp_path / "savedir"),
        overrides={"pretrained_path": folder},
    )
    assert len(classifier.hparams.label_encoder) == 5
    # the recipes' path: the shared block with the local folder
    encoder = load_block(
        "speech/ecapa_voxceleb",
        {
            "ecapa_pretrained_source": folder,
            "n_mels": SPK_SIZES["n_mels"],
            "ecapa_channels": SPK_SIZES["channels"],
            "ecapa_lin_neurons": SPK_SIZES["lin_neurons"],
        },
    )
    assert isinstance(encoder, ECAPASpeechEncoder)
    wavs = torch.randn(2, 16000, generator=torch.Generator().manual_seed(0))
    expected = classifier.encode_batch(wavs).squeeze(1)
    torch.testing.assert_close(encoder(wavs), expected, atol=1e-5, rtol=1e-5)


def test_ecapa_missing_or_unexpected_keys_fail(tmp_path, caplog):
    folder = str(tmp_path / "spkrec")
    layouts.make_spkrec_ecapa_voxceleb(folder)
    ckpt = os.path.join(folder, "embedding_model.ckpt")
    key = "blocks.1.tdnn1.conv.conv.weight"
    assert key in torch.load(ckpt, weights_only=True)
    _edit_checkpoint(ckpt, drop=key)
    with pytest.raises(CheckpointMismatchError, match="missing.*" + key):
        ECAPASpeechEncoder(pretrained_source=folder, **SPK_SIZES)
    with caplog.at_level(logging.WARNING):
        ECAPASpeechEncoder(pretrained_source=folder, strict=False, **SPK_SIZES)
    assert key in caplog.text
    layouts.make_spkrec_ecapa_voxceleb(folder)  # rewritten whole
    _edit_checkpoint(ckpt, add="fc.extra")
    with pytest.raises(CheckpointMismatchError, match="unexpected.*fc.extra"):
        ECAPASpeechEncoder(pretrained_source=folder, **SPK_SIZES)


# ---------------------------------------------------------------------- #
# PaSST releases
# ---------------------------------------------------------------------- #
PASST_TINY = {"embed_dim": 16, "depth": 1, "num_heads": 2}


@pytest.mark.parametrize("name", sorted(layouts.PASST_RELEASES))
def test_passt_release_loads_through_the_catalogue_block(
    tmp_path, name, no_network
):
    path = layouts.make_passt_release(str(tmp_path), name, **PASST_TINY)
    stride = layouts.PASST_RELEASES[name]
    encoder = load_block(
        "speech/passt",
        {
            "passt_checkpoint": path,
            "passt_window_seconds": 1.0,
            "passt_embed_dim": PASST_TINY["embed_dim"],
            "passt_depth": PASST_TINY["depth"],
            "passt_num_heads": PASST_TINY["num_heads"],
        },
        {"stride": stride},
        sample_rate=32000,
    )
    assert isinstance(encoder, PaSSTEncoder)
    state = torch.load(path, weights_only=True)
    assert state["freq_new_pos_embed"].shape[2] == 128 // stride
    assert state["time_new_pos_embed"].shape[3] == 998 // stride
    _assert_weights_equal(encoder.passt, state, skip=("head.", "head_dist."))
    encoder.eval()
    assert encoder(torch.randn(1, 40000)).shape == (1, 16)


def test_passt_missing_or_unexpected_keys_fail(tmp_path, caplog):
    name = "passt-s-f128-p16-s10-ap.476-swa.pt"
    path = layouts.make_passt_release(str(tmp_path), name, **PASST_TINY)
    key = "blocks.0.mlp.fc2.bias"
    _edit_checkpoint(path, drop=key)
    with pytest.raises(CheckpointMismatchError, match="missing.*" + key):
        PaSSTEncoder(checkpoint=path, stride=10, **PASST_TINY)
    with caplog.at_level(logging.WARNING):
        PaSSTEncoder(checkpoint=path, stride=10, strict=False, **PASST_TINY)
    assert key in caplog.text
    path = layouts.make_passt_release(str(tmp_path), name, **PASST_TINY)
    _edit_checkpoint(path, add="blocks.0.ls1.gamma")
    with pytest.raises(CheckpointMismatchError, match="unexpected.*ls1"):
        PaSSTEncoder(checkpoint=path, stride=10, **PASST_TINY)


# ---------------------------------------------------------------------- #
# Hugging Face text encoders
# ---------------------------------------------------------------------- #
HF_LAYOUTS = {
    "bert_base_uncased": ("text/bert", layouts.make_bert_base_uncased),
    "roberta_base": ("text/roberta", layouts.make_roberta_base),
    "t5_v1_1": ("text/t5", layouts.make_t5_v1_1),
}


def _reference_ids(name, folder, text):
    """Token ids of ``text`` by the tokenizer files themselves."""
    if name == "t5_v1_1":
        import sentencepiece

        processor = sentencepiece.SentencePieceProcessor(
            model_file=os.path.join(folder, "spiece.model")
        )
        return processor.encode(text) + [processor.eos_id()]
    from tokenizers import Tokenizer

    return (
        Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        .encode(text)
        .ids
    )


def _checkpoint_weights(name, folder):
    """The encoder weights of the checkpoint, with model-relative names."""
    if name == "t5_v1_1":
        state = torch.load(
            os.path.join(folder, "pytorch_model.bin"), weights_only=True
        )
        return {
            k: v
            for k, v in state.items()
            if k.startswith(("shared.", "encoder."))
        }
    from safetensors.torch import load_file

    prefix = "bert." if name == "bert_base_uncased" else "roberta."
    state = load_file(os.path.join(folder, "model.safetensors"))
    return {
        k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)
    }


@pytest.mark.parametrize("name", sorted(HF_LAYOUTS))
def test_hf_layouts_load_through_the_catalogue_blocks(
    tmp_path, name, no_network
):
    block, make = HF_LAYOUTS[name]
    folder = make(str(tmp_path / name))
    assert _files(folder) == layouts.FILES[name]
    encoder = load_block(block, {"text_encoder_source": folder})
    assert isinstance(encoder, HFTextEncoder)
    # the BERT pooler is not used (removed after loading)
    _assert_weights_equal(
        encoder.model, _checkpoint_weights(name, folder), skip=("pooler.",)
    )
    for text in TEXTS:
        ids = encoder.tokenizer(text)["input_ids"]
        assert ids == _reference_ids(name, folder, text), text
        assert encoder.tokenizer.unk_token_id not in ids or name != "t5_v1_1"
    assert encoder(TEXTS).shape == (3, encoder.output_size)


def test_t5_sentencepiece_only_folder_needs_protobuf(tmp_path, monkeypatch):
    folder = layouts.make_t5_v1_1(str(tmp_path / "t5"))
    monkeypatch.setitem(sys.modules, "google.protobuf", None)
    with pytest.raises(ImportError, match="protobuf"):
        HFTextEncoder(folder, pooling="mean")


def _edit_safetensors(path, drop=None, add=None):
    """Removes / adds a tensor of a safetensors file."""
    from safetensors.torch import load_file, save_file

    state = load_file(path)
    if drop is not None:
        del state[drop]
    if add is not None:
        state[add] = torch.zeros(3)
    save_file(state, path, metadata={"format": "pt"})


def test_hf_missing_or_unexpected_keys_fail(tmp_path, caplog):
    folder = layouts.make_bert_base_uncased(str(tmp_path / "missing"))
    weights = os.path.join(folder, "model.safetensors")
    key = "encoder.layer.1.attention.self.query.weight"
    _edit_safetensors(weights, drop="bert." + key)
    with pytest.raises(CheckpointMismatchError, match="missing.*" + key):
        HFTextEncoder(folder)
    with caplog.at_level(logging.WARNING):
        load_block(
            "text/bert", {"text_encoder_source": folder}, {"strict": False}
        )
    assert key in caplog.text
    folder = layouts.make_roberta_base(str(tmp_path / "extra"))
    weights = os.path.join(folder, "model.safetensors")
    _edit_safetensors(weights, add="roberta.encoder.layer.7.output.bias")
    with pytest.raises(CheckpointMismatchError, match="unexpected.*layer.7"):
        HFTextEncoder(folder)
