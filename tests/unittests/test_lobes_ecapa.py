"""Tests of the ECAPA-TDNN speech encoder lobe."""

import math

import pytest
import torch
import torch.nn.functional as F
from speechbrain.lobes.models.ECAPA_TDNN import ECAPA_TDNN

from speechbrain_style.lobes.ecapa import ECAPASpeechEncoder

SMALL = {"n_mels": 40, "channels": (32, 32, 32, 32, 96), "lin_neurons": 16}


def _padded_batch(lengths, seed=0):
    generator = torch.Generator().manual_seed(seed)
    singles = [0.1 * torch.randn(1, n, generator=generator) for n in lengths]
    wavs = torch.zeros(len(lengths), max(lengths))
    for i, single in enumerate(singles):
        wavs[i, : single.shape[1]] = single
    lens = torch.tensor([n / max(lengths) for n in lengths])
    return singles, wavs, lens


def test_output_shape_and_init_kwargs():
    torch.manual_seed(0)
    encoder = ECAPASpeechEncoder(**SMALL)
    assert encoder.output_size == 16
    out = encoder(torch.randn(3, 4000), torch.tensor([1.0, 0.8, 0.5]))
    assert out.shape == (3, 16)
    clone = ECAPASpeechEncoder(**encoder.init_kwargs)
    clone.load_state_dict(encoder.state_dict())
    x = torch.randn(2, 4000)
    assert torch.equal(encoder.eval()(x), clone.eval()(x))
    assert encoder.init_kwargs["channels"] == [32, 32, 32, 32, 96]


def test_padded_batch_close_to_one_by_one():
    torch.manual_seed(0)
    encoder = ECAPASpeechEncoder(**SMALL).eval()
    singles, wavs, lens = _padded_batch([8000, 12000, 16000])
    with torch.no_grad():
        batched = encoder(wavs, lens)
        alone = torch.cat([encoder(s, torch.ones(1)) for s in singles])
        ignoring_lengths = encoder(wavs, torch.ones(3))
    # Measured: 1 - cosine = 1e-5 to 6e-5 (the reflect-padded TDNN
    # convolutions see zeros instead of reflected frames at the end of a
    # padded utterance); 2e-2 to 8e-2 without zeroing the padded frames.
    cosine = F.cosine_similarity(batched, alone)
    assert (1 - cosine < 5e-4).all(), cosine
    assert torch.allclose(batched[2], alone[2], atol=1e-5)  # unpadded row
    # The lengths matter: treating the padding as speech moves the shorter
    # utterances' embeddings much further away.
    cosine_ignoring = F.cosine_similarity(ignoring_lengths, alone)
    assert (cosine_ignoring[:2] < cosine[:2] - 0.01).all(), cosine_ignoring


def test_padded_feature_frames_are_zeroed_after_normalisation():
    torch.manual_seed(0)
    encoder = ECAPASpeechEncoder(**SMALL).eval()
    seen = []
    encoder.embedding_model.register_forward_pre_hook(
        lambda module, args: seen.append(args[0])
    )
    _, wavs, lens = _padded_batch([8000, 16000])
    encoder(wavs, lens)
    feats = seen[0]
    frames = feats.shape[1]
    valid = math.ceil(0.5 * frames)  # SpeechBrain: positions < len * frames
    assert (feats[0, valid:] == 0).all()
    assert (feats[0, :valid].abs().sum(dim=-1) > 0).all()
    # Sentence mean normalisation over the valid frames only.
    assert torch.allclose(
        feats[0, :valid].mean(dim=0), torch.zeros(40), atol=1e-4
    )


def test_gradients_flow_in_training_mode():
    torch.manual_seed(0)
    encoder = ECAPASpeechEncoder(**SMALL).train()
    assert encoder.training
    wavs = torch.randn(4, 4000, requires_grad=True)
    out = encoder(wavs, torch.tensor([1.0, 0.9, 0.7, 0.6]))
    out.pow(2).sum().backward()
    assert wavs.grad is not None and wavs.grad.abs().sum() > 0
    for name, param in encoder.embedding_model.named_parameters():
        assert param.grad is not None, name


def test_freeze():
    torch.manual_seed(0)
    encoder = ECAPASpeechEncoder(**SMALL, freeze=True)
    assert all(not p.requires_grad for p in encoder.parameters())
    encoder.train()
    assert not encoder.training
    assert not encoder.embedding_model.training
    out = encoder(torch.randn(2, 4000, requires_grad=True))
    assert not out.requires_grad


def test_spkrec_ecapa_layout_is_compatible():
    encoder = ECAPASpeechEncoder(
        n_mels=80, channels=(64, 64, 64, 64, 192), lin_neurons=24
    )
    # spkrec-ecapa-voxceleb: Fbank(n_mels=80), sentence mean normalisation,
    # ECAPA_TDNN(input_size=80, ...) saved as embedding_model.ckpt.
    reference = ECAPA_TDNN(80, channels=[64, 64, 64, 64, 192], lin_neurons=24)
    encoder.embedding_model.load_state_dict(reference.state_dict())
    assert encoder.compute_features.compute_fbanks.n_mels == 80
    assert encoder.mean_var_norm.norm_type == "sentence"
    assert encoder.mean_var_norm.std_norm is False


def test_deltas_and_context_set_input_size():
    encoder = ECAPASpeechEncoder(
        **SMALL, deltas=True, left_frames=1, right_frames=1
    ).eval()
    first_conv = encoder.embedding_model.blocks[0].conv.conv
    assert first_conv.in_channels == 40 * 3 * 3
    assert encoder(torch.randn(1, 4000)).shape == (1, 16)


def test_bad_arguments():
    with pytest.raises(ValueError, match="same length"):
        ECAPASpeechEncoder(channels=(8, 8, 24), kernel_sizes=(5, 1))
    encoder = ECAPASpeechEncoder(**SMALL)
    with pytest.raises(ValueError, match="wavs"):
        encoder(torch.randn(4000))
    with pytest.raises(ValueError, match="lens"):
        encoder(torch.randn(2, 4000), torch.ones(3))


def test_pretrained_speaker_model_folder_loads_offline(tmp_path):
    """A local folder in the spkrec-ecapa-voxceleb layout loads through
    SpeechBrain's Pretrainer into the lobe's embedding model."""
    from speechbrain.lobes.models.ECAPA_TDNN import ECAPA_TDNN

    from speechbrain_style.lobes import ECAPASpeechEncoder

    torch.manual_seed(3)
    sizes = {"channels": [16, 16, 16, 16, 48], "lin_neurons": 8}
    reference = ECAPA_TDNN(40, **sizes)
    torch.save(reference.state_dict(), tmp_path / "embedding_model.ckpt")
    encoder = ECAPASpeechEncoder(
        n_mels=40, pretrained_source=str(tmp_path), **sizes
    )
    for name, value in reference.state_dict().items():
        assert torch.equal(encoder.embedding_model.state_dict()[name], value)
    assert encoder.init_kwargs["pretrained_source"] is None
    with pytest.raises(Exception, match="embedding_model.ckpt"):
        ECAPASpeechEncoder(
            n_mels=40, pretrained_source=str(tmp_path / "missing"), **sizes
        )
