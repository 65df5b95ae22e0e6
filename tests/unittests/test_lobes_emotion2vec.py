"""Tests of the emotion2vec lobe on a tiny funasr Emotion2vec saved on disk."""

import os
import random
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from speechbrain_style.lobes.emotion2vec import (
    Emotion2VecEncoder,
    MaskedConvPositionalEncoder,
    conv_output_lengths,
    normalize_waveforms,
)
from tests.tiny_models import build_tiny_emotion2vec

LENGTHS = [16000, 11000, 7000]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_emotion2vec(tmp_path_factory.mktemp("tiny_e2v"))


def _padded_batch(lengths=LENGTHS, seed=0):
    generator = torch.Generator().manual_seed(seed)
    singles = [torch.randn(1, n, generator=generator) for n in lengths]
    wavs = torch.zeros(len(lengths), max(lengths))
    for i, single in enumerate(singles):
        wavs[i, : single.shape[1]] = single
    lens = torch.tensor([n / max(lengths) for n in lengths])
    return singles, wavs, lens


def test_normalize_waveforms_matches_layer_norm_per_utterance():
    singles, wavs, lens = _padded_batch([50, 30, 20])
    out = normalize_waveforms(wavs, torch.tensor([50, 30, 20]))
    for i, single in enumerate(singles):
        n = single.shape[1]
        expected = F.layer_norm(single, single.shape)[0]
        assert torch.allclose(out[i, :n], expected, atol=1e-6)
        assert (out[i, n:] == 0).all()


def test_conv_output_lengths_matches_funasr_frame_rate():
    spec = [(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2
    # 20 ms hop, 25 ms receptive field: 1 s -> 49 frames, 2 s -> 99.
    lengths = torch.tensor([16000, 32000, 400, 399, 720])
    assert conv_output_lengths(lengths, spec).tolist() == [49, 99, 1, 0, 2]


def test_loads_local_folder_offline(tiny_dir, no_network):
    torch.manual_seed(7)
    random.seed(7)
    np.random.seed(7)
    expected_draws = (torch.rand(1), random.random(), np.random.rand())
    torch.manual_seed(7)
    random.seed(7)
    np.random.seed(7)
    threads = torch.get_num_threads()
    encoder = Emotion2VecEncoder(tiny_dir, freeze=True)
    # funasr.AutoModel reseeds every RNG and sets the thread count; the lobe
    # undoes both.
    assert (torch.rand(1), random.random(), np.random.rand()) == expected_draws
    assert torch.get_num_threads() == threads

    assert type(encoder.model).__name__ == "Emotion2vec"
    assert encoder.output_size == 128
    assert encoder.init_kwargs["source"] == str(tiny_dir)
    saved = torch.load(f"{tiny_dir}/model.pt")
    state = encoder.model.state_dict()
    assert set(saved) == set(state)  # the patched module keeps the keys
    for key, value in saved.items():
        assert torch.equal(state[key], value), key
    out = encoder(torch.randn(2, 8000), torch.tensor([1.0, 0.5]))
    assert out.shape == (2, 128)


def test_single_utterance_matches_funasr_reference(tiny_dir):
    encoder = Emotion2VecEncoder(tiny_dir, freeze=True)
    wav = torch.randn(1, 12345)
    # funasr's Emotion2vec.inference: layer_norm over the waveform,
    # extract_features(padding_mask=None), mean over frames.
    with torch.no_grad():
        source = F.layer_norm(wav[0], wav[0].shape).view(1, -1)
        frames = encoder.model.extract_features(source, padding_mask=None)
        expected = frames["x"].mean(dim=1)
    assert torch.allclose(encoder(wav), expected, atol=1e-5)


def test_padded_batch_equals_one_by_one_only_with_the_fix(tiny_dir):
    singles, wavs, lens = _padded_batch()
    differences = {}
    for fixed in (True, False):
        encoder = Emotion2VecEncoder(
            tiny_dir, freeze=True, masked_positional_conv=fixed
        )
        batched = encoder(wavs, lens)
        alone = torch.cat([encoder(single) for single in singles])
        assert torch.allclose(batched[0], alone[0], atol=1e-5)  # unpadded
        differences[fixed] = (batched - alone).abs().max().item()
    assert differences[True] < 1e-4, differences
    # funasr's positional convolutions let the padding leak (measured ~1 on
    # this random tiny model; cosine 0.995-0.998 on emotion2vec_base).
    assert differences[False] > 100 * max(differences[True], 1e-6)
    assert differences[False] > 1e-2


def test_frame_features_rate_and_mask(tiny_dir):
    encoder = Emotion2VecEncoder(tiny_dir, freeze=True)
    _, wavs, lens = _padded_batch([32000, 16000])
    frames, mask = encoder.frame_features(wavs, lens)
    assert frames.shape == (2, 99, 128)  # 50 frames per second
    assert mask.sum(dim=1).tolist() == [0, 99 - 49]
    assert not mask[1, :49].any() and mask[1, 49:].all()


def test_max_pooling_over_valid_frames(tiny_dir):
    encoder = Emotion2VecEncoder(tiny_dir, freeze=True, pooling="max")
    _, wavs, lens = _padded_batch([16000, 8000])
    frames, mask = encoder.frame_features(wavs, lens)
    pooled = encoder(wavs, lens)
    assert torch.equal(pooled[0], frames[0].max(dim=0).values)
    valid = int((~mask[1]).sum())
    assert torch.equal(pooled[1], frames[1, :valid].max(dim=0).values)


def test_training_mode_never_applies_emotion2vec_masking(tiny_dir):
    encoder = Emotion2VecEncoder(tiny_dir, freeze=False).train()
    audio = encoder.model.modality_encoders["AUDIO"]
    calls = []
    original = audio.compute_mask

    def spy(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    audio.compute_mask = spy
    _, wavs, lens = _padded_batch()
    encoder(wavs, lens)
    assert encoder.model.training and calls == []
    # Without dropout, training mode gives the eval-mode output: no masking.
    for module in encoder.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    train_out = encoder(wavs, lens)
    eval_out = encoder.eval()(wavs, lens)
    assert torch.allclose(train_out, eval_out, atol=1e-5)


def test_fine_tuning_gradients(tiny_dir):
    encoder = Emotion2VecEncoder(tiny_dir, freeze=False).train()
    _, wavs, lens = _padded_batch([8000, 5000])
    encoder(wavs, lens).pow(2).sum().backward()
    # Every parameter is used (no unused parameters under DDP).
    for name, param in encoder.named_parameters():
        assert param.grad is not None, name
    audio = encoder.model.modality_encoders["AUDIO"]
    assert audio.local_encoder.conv_layers[0][0].weight.grad is not None
    assert encoder.model.blocks[-1].mlp.fc2.weight.grad.abs().sum() > 0

    partial = Emotion2VecEncoder(
        tiny_dir, freeze=False, freeze_feature_extractor=True
    ).train()
    partial(wavs, lens).pow(2).sum().backward()
    audio = partial.model.modality_encoders["AUDIO"]
    assert all(p.grad is None for p in audio.local_encoder.parameters())
    assert audio.project_features[-1].weight.grad is not None


def test_freeze(tiny_dir):
    encoder = Emotion2VecEncoder(tiny_dir, freeze=True)
    assert all(not p.requires_grad for p in encoder.parameters())
    encoder.train()
    assert not encoder.training and not encoder.model.training
    out = encoder(torch.randn(1, 8000, requires_grad=True))
    assert not out.requires_grad


def test_save_pretrained_round_trip(tiny_dir, tmp_path):
    encoder = Emotion2VecEncoder(tiny_dir, freeze=False).eval()
    with torch.no_grad():  # stand-in for fine-tuning
        for param in encoder.parameters():
            param.add_(0.01 * torch.randn_like(param))
    _, wavs, lens = _padded_batch()
    expected = encoder(wavs, lens).detach()
    kwargs = encoder.save_pretrained(tmp_path / "saved")
    assert kwargs["source"] == str(tmp_path / "saved")
    reloaded = Emotion2VecEncoder(**kwargs).eval()
    assert torch.allclose(reloaded(wavs, lens), expected, atol=1e-6)


def test_positional_encoder_structure_is_checked():
    with pytest.raises(RuntimeError, match="relative_positional_encoder"):
        MaskedConvPositionalEncoder(torch.nn.Linear(4, 4))
    with pytest.raises(RuntimeError, match="Unexpected structure"):
        MaskedConvPositionalEncoder(
            torch.nn.Sequential(torch.nn.GELU(), torch.nn.Conv1d(4, 4, 3))
        )


def test_bad_arguments(tiny_dir, tmp_path):
    with pytest.raises(ValueError, match="pooling"):
        Emotion2VecEncoder(tiny_dir, pooling="attention")
    with pytest.raises(ValueError, match="hub"):
        Emotion2VecEncoder(tiny_dir, hub="github")
    with pytest.raises(ValueError, match="config.yaml"):
        Emotion2VecEncoder(tmp_path)
    encoder = Emotion2VecEncoder(tiny_dir, freeze=True)
    with pytest.raises(ValueError, match=r"Utterances \[1\]"):
        encoder(torch.randn(2, 8000), torch.tensor([1.0, 0.04]))
    with pytest.raises(ValueError, match="wavs"):
        encoder(torch.randn(8000))
    with pytest.raises(ValueError, match="lens"):
        encoder(torch.randn(2, 8000), torch.ones(3))


def test_importing_the_lobes_imports_neither_funasr_nor_transformers():
    code = (
        "import sys, speechbrain_style.lobes as lobes; "
        "assert lobes.Emotion2VecEncoder and lobes.HFTextEncoder; "
        "print(sorted(m for m in ('funasr', 'transformers') "
        "if m in sys.modules))"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=root,
        env=dict(os.environ, PYTHONPATH=root),
        check=True,
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"
