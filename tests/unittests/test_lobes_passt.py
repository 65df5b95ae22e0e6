"""Tests of the PaSST audio lobe (tiny configurations, random weights)."""

import math

import pytest
import torch

from speechbrain_style.lobes.passt import (
    PRETRAINED_URLS,
    PaSST,
    PaSSTEncoder,
    PaSSTMelFrontend,
    load_passt_state_dict,
    resolve_checkpoint,
)

SR = 32000
TINY = {"embed_dim": 16, "depth": 2, "num_heads": 2}


def _encoder(**kwargs):
    torch.manual_seed(0)
    config = dict(checkpoint=None, **TINY)
    config.update(kwargs)
    return PaSSTEncoder(**config)


def test_frontend_sine_peaks_at_its_mel_band():
    frontend = PaSSTMelFrontend().eval()
    t = torch.arange(SR) / SR
    spec = frontend(torch.sin(2 * math.pi * 1000.0 * t).unsqueeze(0))[0]
    # Kaldi mel scale: band centres equally spaced in 1127 ln(1 + f / 700)
    # between fmin = 0 and fmax = 16000 - 1000 = 15000 Hz
    mel = lambda f: 1127.0 * math.log(1.0 + f / 700.0)  # noqa: E731
    step = (mel(15000.0) - mel(0.0)) / (128 + 1)
    expected_band = round((mel(1000.0) - mel(0.0)) / step) - 1
    peak = spec[:, 50].argmax().item()
    assert abs(peak - expected_band) <= 1


def test_frontend_of_silence_is_the_normalised_log_floor():
    frontend = PaSSTMelFrontend().eval()
    silence = frontend(torch.zeros(1, 8000))
    expected = (math.log(1e-5) + 4.5) / 5
    assert torch.allclose(silence, torch.full_like(silence, expected))
    assert silence.shape == (1, 128, 25)  # (8000 - 1) // 320 + 1


def test_frontend_jitters_mel_range_only_in_training():
    frontend = PaSSTMelFrontend()
    wav = torch.randn(1, 4000)
    torch.manual_seed(0)
    train_a = frontend.train()(wav)
    train_b = frontend(wav)
    frontend.eval()
    assert torch.equal(frontend(wav), frontend(wav))
    assert not torch.allclose(train_a, train_b)


def test_passt_masks_padded_time_patches():
    torch.manual_seed(0)
    model = PaSST(**TINY).eval()
    spec = torch.randn(1, 128, 70)
    alone = model(spec)
    padded = torch.cat([spec, torch.randn(1, 128, 50)], dim=2)
    batched = model(torch.cat([padded, torch.randn(1, 128, 120)]), [70, 120])
    assert torch.allclose(batched[0], alone[0], atol=1e-5)
    # without the lengths, the padding changes the embedding
    assert not torch.allclose(model(padded)[0], alone[0], atol=1e-3)


def test_passt_patch_grid_checks():
    model = PaSST(**TINY, max_frames=100).eval()
    assert model.grid_size == (8, 6)
    with pytest.raises(ValueError, match="patch grid"):
        model(torch.randn(1, 128, 200))
    with pytest.raises(ValueError, match=">= 16 frames"):
        model(torch.randn(1, 128, 40), [10])
    with pytest.raises(ValueError, match="multiple of num_heads"):
        PaSST(embed_dim=10, num_heads=3)


def test_patchout_drops_columns_in_training_only():
    torch.manual_seed(0)
    model = PaSST(**TINY, s_patchout_t=3, s_patchout_f=2)
    seen = []
    model.blocks[0].register_forward_hook(
        lambda mod, args, out: seen.append(out.shape[1])
    )
    spec = torch.randn(2, 128, 160)  # 8 x 10 patches
    model.train()(spec, [160, 100])
    model.eval()(spec, [160, 100])
    assert seen == [2 + 6 * 7, 2 + 8 * 10]


def test_window_bounds():
    enc = _encoder(window_seconds=1.0, min_last_window_seconds=0.25)
    assert enc.window_bounds(SR * 2) == [(0, SR), (SR, 2 * SR)]
    assert enc.window_bounds(int(SR * 2.2)) == [(0, SR), (SR, 2 * SR)]
    assert enc.window_bounds(int(SR * 2.3)) == [
        (0, SR),
        (SR, 2 * SR),
        (2 * SR, int(SR * 2.3)),
    ]
    assert enc.window_bounds(int(SR * 0.1)) == [(0, int(SR * 0.1))]
    hop = _encoder(window_seconds=1.0, hop_seconds=0.5)
    assert [b[0] for b in hop.window_bounds(2 * SR)] == [0, SR // 2, SR]


def test_clip_embedding_is_the_mean_of_its_windows():
    enc = _encoder(window_seconds=0.5, min_last_window_seconds=0.2).eval()
    torch.manual_seed(1)
    wav = torch.randn(1, int(SR * 1.6))  # windows 0.5, 0.5, 0.5; 0.1 dropped
    windows = [wav[:, i * SR // 2 : (i + 1) * SR // 2] for i in range(3)]
    expected = torch.cat([enc(w) for w in windows]).mean(0)
    assert torch.allclose(enc(wav)[0], expected, atol=1e-5)


def test_padded_batch_equals_one_by_one():
    enc = _encoder(window_seconds=0.5, min_last_window_seconds=0.1).eval()
    torch.manual_seed(2)
    lengths = [int(SR * 1.3), int(SR * 0.3), int(SR * 0.5), 2000]
    clips = [torch.randn(n) for n in lengths]
    total = max(lengths)
    batch = torch.stack(
        [torch.nn.functional.pad(c, (0, total - c.shape[0])) for c in clips]
    )
    lens = torch.tensor(lengths, dtype=torch.float) / total
    batched = enc(batch, lens)
    alone = torch.cat([enc(c.unsqueeze(0)) for c in clips])
    assert torch.allclose(batched, alone, atol=1e-5)
    # the padding of the short clips matters when the lengths are ignored
    assert not torch.allclose(enc(batch)[1], alone[1], atol=1e-3)


def test_training_backward_and_freeze():
    enc = _encoder(window_seconds=0.5, s_patchout_t=2, s_patchout_f=1)
    enc.train()
    out = enc(torch.randn(2, SR), torch.tensor([1.0, 0.6]))
    out.sum().backward()
    grad = enc.passt.patch_embed.proj.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    frozen = _encoder(window_seconds=0.5, freeze=True).train()
    assert not frozen.training
    assert not frozen(torch.randn(1, SR)).requires_grad


def test_bad_inputs():
    enc = _encoder(window_seconds=0.5)
    with pytest.raises(ValueError, match="batch, time"):
        enc(torch.randn(SR))
    with pytest.raises(ValueError, match="lens must have shape"):
        enc(torch.randn(2, SR), torch.ones(3))
    with pytest.raises(ValueError, match="window_seconds"):
        _encoder(window_seconds=0)
    with pytest.raises(ValueError, match="max_frames"):
        _encoder(window_seconds=12.0)


def test_checkpoint_round_trip_and_wrapper_layout(tmp_path):
    source = _encoder(window_seconds=0.5).eval()
    wav = torch.randn(2, SR)
    plain = tmp_path / "passt.pt"
    torch.save(source.passt.state_dict(), plain)
    # a hear21passt wrapper checkpoint: net. prefix, mel buffers, heads
    wrapped = tmp_path / "wrapper.pt"
    state = {f"net.{k}": v for k, v in source.passt.state_dict().items()}
    state["net.head.1.weight"] = torch.zeros(527, 16)
    state["mel.window"] = torch.zeros(800)
    torch.save({"model": state}, wrapped)
    for path in (plain, wrapped):
        torch.manual_seed(123)  # other random init before loading
        loaded = PaSSTEncoder(
            checkpoint=str(path), window_seconds=0.5, **TINY
        ).eval()
        assert torch.allclose(loaded(wav), source(wav), atol=1e-6)
    assert loaded.init_kwargs["checkpoint"] is None


def test_checkpoint_errors_name_the_file(tmp_path, no_network):
    path = tmp_path / "other.pt"
    torch.save(PaSST(embed_dim=8, depth=1, num_heads=2).state_dict(), path)
    with pytest.raises(ValueError, match="other.pt.*shape mismatch"):
        load_passt_state_dict(PaSST(**TINY), str(path))
    with pytest.raises(ValueError, match="missing"):
        load_passt_state_dict(PaSST(**dict(TINY, depth=3)), str(path))
    with pytest.raises(FileNotFoundError, match="nowhere.pt"):
        PaSSTEncoder(checkpoint=str(tmp_path / "nowhere.pt"), **TINY)


def test_named_checkpoints_resolve_to_the_published_urls():
    kind, url = resolve_checkpoint("passt_s_p16_s16_128_ap468")
    assert kind == "url"
    assert url == PRETRAINED_URLS["passt_s_p16_s16_128_ap468"]
    assert url.startswith("https://github.com/kkoutini/PaSST/releases/")
    assert resolve_checkpoint("https://x.org/a.pt") == (
        "url",
        "https://x.org/a.pt",
    )
    with pytest.raises(TypeError):
        resolve_checkpoint(3)


def test_full_size_shapes_match_the_published_model():
    model = PaSST(depth=1)  # PaSST-S width, one block to stay fast
    assert model.time_new_pos_embed.shape == (1, 768, 1, 62)
    assert model.freq_new_pos_embed.shape == (1, 768, 8, 1)
    assert model.new_pos_embed.shape == (1, 2, 768)
    assert model.patch_embed.proj.weight.shape == (768, 1, 16, 16)
    assert set(model.state_dict()) >= {
        "blocks.0.attn.qkv.weight",
        "blocks.0.attn.proj.bias",
        "blocks.0.mlp.fc1.weight",
        "blocks.0.norm2.weight",
        "norm.weight",
        "cls_token",
        "dist_token",
    }
    # a 10-s window at 32 kHz fills the time embedding exactly
    frontend = PaSSTMelFrontend()
    frames = frontend.num_frames(10 * SR)
    assert model.num_time_patches(frames) == 62


def test_catalogue_block_builds_the_encoder(no_network):
    from tests.catalogue import load_block

    encoder = load_block(
        "speech/passt",
        {
            "passt_checkpoint": None,
            "passt_embed_dim": TINY["embed_dim"],
            "passt_depth": TINY["depth"],
            "passt_num_heads": TINY["num_heads"],
        },
        sample_rate=SR,
    )
    assert isinstance(encoder, PaSSTEncoder) and encoder.output_size == 16
    assert encoder.window_samples == 10 * SR
    assert encoder.passt.s_patchout_t == 15 and encoder.passt.s_patchout_f == 2
