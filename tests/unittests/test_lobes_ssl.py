"""Tests of the wav2vec 2.0 / WavLM lobe on tiny models built here."""

import pytest
import torch

from speechbrain_style.lobes import SSLSpeechEncoder
from tests.tiny_models import build_tiny_ssl_model


@pytest.mark.parametrize("model", ["wav2vec2", "wavlm"])
def test_padded_batch_pools_only_valid_frames(tmp_path, model):
    folder = build_tiny_ssl_model(str(tmp_path / model), model)
    encoder = SSLSpeechEncoder(folder, model=model, save_path=str(tmp_path))
    assert encoder.output_size == 32
    torch.manual_seed(0)
    short, long = torch.randn(8000), torch.randn(16000)
    batch = torch.zeros(2, 16000)
    batch[0, :8000], batch[1] = short, long
    emb = encoder(batch, torch.tensor([0.5, 1.0]))
    alone = encoder(short.unsqueeze(0), torch.ones(1))
    assert emb.shape == (2, 32)
    # The pooling skips padded frames and the model gets the attention mask;
    # the convolutional front end still sees the padding (as in SpeechBrain
    # and transformers), so batched and alone are close, not equal.
    cos = torch.nn.functional.cosine_similarity(emb[0], alone[0], dim=0)
    assert cos > 0.98
    naive = encoder.ssl(batch, torch.tensor([0.5, 1.0]))[0].mean(0)
    naive_cos = torch.nn.functional.cosine_similarity(naive, alone[0], dim=0)
    assert cos > naive_cos
    assert not any(p.requires_grad for p in encoder.parameters())


def test_save_pretrained_round_trip_and_bad_model(tmp_path):
    folder = build_tiny_ssl_model(str(tmp_path / "w"), "wavlm")
    encoder = SSLSpeechEncoder(folder, model="wavlm", save_path=str(tmp_path))
    kwargs = encoder.save_pretrained(str(tmp_path / "copy"))
    again = SSLSpeechEncoder(**dict(kwargs, save_path=str(tmp_path)))
    wav = torch.randn(1, 4000)
    assert torch.allclose(encoder(wav), again(wav), atol=1e-6)
    with pytest.raises(ValueError, match="model must be one of"):
        SSLSpeechEncoder(folder, model="hubert")
