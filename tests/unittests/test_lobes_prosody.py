"""Tests of the prosody lobe: features, encoder, fusion, export."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from speechbrain_style.lobes import ECAPASpeechEncoder, ProjectionHead
from speechbrain_style.lobes.prosody import (
    ProsodyEncoder,
    ProsodyFeatures,
    ProsodyFusion,
    utterance_statistics,
)

pytest.importorskip("parselmouth")

SR = 16000
ECAPA_TINY = {"n_mels": 20, "channels": (16, 16, 16, 16, 48), "lin_neurons": 8}


def harmonic(f0_start, f0_end, seconds, seed=0, noise=0.003):
    """A harmonic signal gliding from f0_start to f0_end (Hz)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    f0 = np.geomspace(f0_start, f0_end, n)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    wav = sum(np.sin(k * phase) / k for k in range(1, 12))
    wav = 0.2 * wav / np.abs(wav).max() + noise * rng.standard_normal(n)
    return torch.from_numpy(wav.astype(np.float32)), f0


def speech_like_batch(seed=0):
    """Three utterances of different lengths (voiced + noise + silence)."""
    rng = np.random.default_rng(seed)
    singles = []
    for i, (seconds, f0) in enumerate(((0.9, 110), (1.4, 210), (1.7, 160))):
        voiced, _ = harmonic(f0, f0 * 1.3, seconds * 0.6, seed=seed + i)
        noise = torch.from_numpy(
            (0.05 * rng.standard_normal(int(seconds * 0.25 * SR))).astype(
                np.float32
            )
        )
        silence = torch.zeros(int(seconds * 0.15 * SR))
        singles.append(torch.cat([silence, voiced, noise]))
    longest = max(len(s) for s in singles)
    wavs = torch.zeros(len(singles), longest)
    for i, s in enumerate(singles):
        wavs[i, : len(s)] = s
    lens = torch.tensor([len(s) / longest for s in singles])
    return singles, wavs, lens


def test_log_f0_voicing_and_energy_of_known_signals():
    features = ProsodyFeatures()
    wav, f0 = harmonic(120, 240, 1.0)
    silence = torch.zeros(SR // 2)
    feats, frame_lens = features(torch.cat([wav, silence])[None])
    names = features.channel_names
    assert names == ["lf0", "voiced", "energy", "d_lf0", "d_energy"]
    assert feats.shape == (1, 151, 5) and frame_lens.tolist() == [1.0]
    voiced = feats[0, :, names.index("voiced")] > 0.5
    # the tone is voiced (away from its edges), the silence is not
    assert voiced[5:95].all() and not voiced[110:].any()
    # log-F0 in octaves relative to 100 Hz, within 20 cents of the truth
    frames = torch.arange(10, 90)
    truth = np.log2(f0[frames.numpy() * 160] / 100.0)
    got = feats[0, frames, names.index("lf0")].numpy()
    assert np.abs(got - truth).max() < 20 / 1200
    # an octave glide over 1 s: delta about 1/100 octave per frame
    d_lf0 = feats[0, frames, names.index("d_lf0")].numpy()
    assert np.allclose(d_lf0, 0.01, atol=0.003)
    # energy relative to the utterance mean: the tone is far above silence
    energy = feats[0, :, names.index("energy")]
    assert energy[20:80].min() > energy[120:].max() + 5


def test_noise_has_no_voiced_frame_and_finite_statistics():
    noise = 0.1 * torch.randn(1, SR, generator=torch.Generator().manual_seed(0))
    encoder = ProsodyEncoder(channels=8, output_size=4)
    feats, frame_lens = encoder.compute_features(noise)
    assert feats[0, :, 1].sum() == 0
    assert torch.equal(feats[0, :, 0], torch.zeros(feats.shape[1]))
    mask = torch.ones(1, feats.shape[1], dtype=torch.bool)
    stats = utterance_statistics(feats, mask)
    assert torch.equal(stats[0, :6], torch.zeros(6)) and stats[0, 6] > 0
    assert torch.isfinite(encoder(noise)).all()


def test_f0_normalisation_options():
    low, _ = harmonic(100, 100, 0.8)
    high, _ = harmonic(200, 200, 0.8)
    out = {}
    for norm in ("none", "utterance", "both"):
        features = ProsodyFeatures(f0_norm=norm, deltas=False)
        feats, _ = features(torch.stack([low, high]))
        voiced = feats[:, :, features.channel_names.index("voiced")] > 0.5
        out[norm] = (
            [feats[i, voiced[i], 0].mean().item() for i in range(2)],
            features.channel_names,
        )
    (none_low, none_high), names = out["none"]
    assert names == ["lf0", "voiced", "energy"]
    assert none_low == pytest.approx(0.0, abs=0.02)
    assert none_high == pytest.approx(1.0, abs=0.02)  # one octave up
    (rel_low, rel_high), names = out["utterance"]
    assert names == ["lf0_rel", "voiced", "energy"]
    assert rel_low == pytest.approx(0.0, abs=1e-6)
    assert rel_high == pytest.approx(0.0, abs=1e-6)
    assert out["both"][1] == ["lf0", "lf0_rel", "voiced", "energy"]
    with pytest.raises(ValueError, match="f0_norm"):
        ProsodyFeatures(f0_norm="speaker")


def test_features_padded_batch_equals_one_by_one():
    singles, wavs, lens = speech_like_batch()
    features = ProsodyFeatures(f0_norm="both")
    batched, frame_lens = features(wavs, lens)
    for i, single in enumerate(singles):
        alone, alone_lens = features(single[None])
        n = alone.shape[1]
        assert alone_lens.tolist() == [1.0]
        assert round(frame_lens[i].item() * batched.shape[1]) == n
        assert torch.equal(batched[i, :n], alone[0])
        assert torch.equal(batched[i, n:], torch.zeros_like(batched[i, n:]))


@pytest.mark.parametrize("training", [False, True])
def test_encoder_padded_batch_equals_one_by_one(training):
    torch.manual_seed(0)
    singles, wavs, lens = speech_like_batch(seed=1)
    encoder = ProsodyEncoder(channels=16, output_size=8).train(training)
    batched = encoder(wavs, lens)
    alone = torch.cat([encoder(s[None]) for s in singles])
    assert torch.allclose(batched, alone, atol=1e-5), (batched - alone).abs()
    # the lengths matter: the padding treated as speech changes the result
    ignoring = encoder(wavs, torch.ones(3))
    assert not torch.allclose(ignoring[:2], alone[:2], atol=1e-3)


def test_fusion_padded_batch_and_gradients():
    torch.manual_seed(0)
    singles, wavs, lens = speech_like_batch(seed=2)
    fusion = ProsodyFusion(
        ECAPASpeechEncoder(**ECAPA_TINY),
        ProsodyEncoder(channels=16, output_size=4),
    ).eval()
    assert fusion.output_size == 12
    with torch.no_grad():
        batched = fusion(wavs, lens)
        alone = torch.cat([fusion(s[None]) for s in singles])
    # prosody part exact; the ECAPA part as close as that lobe is alone
    assert torch.allclose(batched[:, 8:], alone[:, 8:], atol=1e-5)
    cosine = F.cosine_similarity(batched[:, :8], alone[:, :8])
    assert (1 - cosine < 5e-4).all(), cosine
    # both branches are trained through the fused embedding
    fusion.train()
    fusion(wavs, lens).pow(2).sum().backward()
    for branch in (fusion.speech_encoder, fusion.prosody_encoder):
        grads = [p.grad for p in branch.parameters() if p.requires_grad]
        assert grads and all(g is not None for g in grads)
        assert any(g.abs().sum() > 0 for g in grads)


def test_fusion_keeps_a_frozen_speech_encoder_frozen():
    speech = ECAPASpeechEncoder(**ECAPA_TINY, freeze=True)
    fusion = ProsodyFusion(speech, ProsodyEncoder(channels=8, output_size=4))
    fusion.train()
    assert not speech.training and fusion.prosody_encoder.training
    out = fusion(torch.randn(2, 8000) * 0.1, torch.tensor([1.0, 0.6]))
    out.sum().backward()
    assert all(p.grad is None for p in speech.parameters())
    with pytest.raises(TypeError, match="output_size"):
        ProsodyFusion(torch.nn.Linear(2, 2))


def test_fusion_inference_folder_round_trip(tmp_path):
    from speechbrain_style.inference import StyleRetriever
    from speechbrain_style.inference.export import write_inference_folder
    from speechbrain_style.lobes import SSLSpeechEncoder
    from tests.tiny_models import build_tiny_ssl_model

    torch.manual_seed(0)
    ssl_dir = build_tiny_ssl_model(str(tmp_path / "wavlm"))
    fusion = ProsodyFusion(
        SSLSpeechEncoder(ssl_dir, model="wavlm", freeze=True),
        ProsodyEncoder(channels=8, output_size=4, f0_norm="both"),
    )
    modules = {
        "speech_encoder": fusion,
        "speech_head": ProjectionHead(36, proj_size=8),
    }
    for module in modules.values():
        module.eval()
    model_dir = tmp_path / "model"
    write_inference_folder(str(model_dir), modules, extra={"sample_rate": SR})
    text = (model_dir / "hyperparams.yaml").read_text()
    assert "!new:speechbrain_style.lobes.prosody.ProsodyFusion" in text
    assert "source: !ref <model_dir>/speech_encoder.speech_encoder" in text
    # the yaml names no path of this machine
    assert str(tmp_path) not in text
    _, wavs, lens = speech_like_batch(seed=3)
    with torch.no_grad():
        expected = modules["speech_head"](fusion(wavs, lens))[-1]
    model = StyleRetriever.from_hparams(source=str(model_dir))
    loaded = model.mods.speech_encoder
    assert isinstance(loaded, ProsodyFusion)
    assert loaded.prosody_encoder.compute_features.f0_norm == "both"
    with torch.no_grad():
        got = model.mods.speech_head(loaded(wavs, lens))[-1]
    assert torch.allclose(got, expected, atol=1e-5)


def test_bad_inputs_are_reported():
    features = ProsodyFeatures()
    with pytest.raises(ValueError, match="batch, time"):
        features(torch.zeros(8000))
    with pytest.raises(ValueError, match="lens"):
        features(torch.zeros(2, 8000), torch.ones(3))
    with pytest.raises(ValueError, match="lens"):
        features(torch.zeros(2, 8000), torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="pitch_floor"):
        ProsodyFeatures(pitch_floor=600, pitch_ceiling=500)
    with pytest.raises(ValueError, match="odd"):
        ProsodyEncoder(kernel_sizes=(4,), dilations=(1,))
