"""Deterministic embeddings of any length: fixed windows, pooled, streamed.

The encoder is a small ECAPA-TDNN with a projection head (random weights,
eval mode), the lobe the StyleSynth recipes train.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile as sf
import torch

from speechbrain_style.dataio.windows import (
    embed_file_in_windows,
    embed_in_windows,
    seconds_to_samples,
    window_bounds,
)
from speechbrain_style.lobes import ECAPASpeechEncoder, ProjectionHead
from speechbrain_style.retrieval.index import build_index

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
RATE = 16000


@pytest.fixture(scope="module")
def encoder():
    """A tiny ECAPA-TDNN + head as ``encode(wavs, lens) -> levels``."""
    torch.manual_seed(0)
    ecapa = ECAPASpeechEncoder(
        n_mels=40, channels=[16, 16, 16, 16, 48], lin_neurons=16
    ).eval()
    head = ProjectionHead(16, proj_size=8, num_transform_layers=1).eval()

    @torch.no_grad()
    def encode(wavs, lens):
        return head(ecapa(wavs, lens))

    return encode


def _speechlike(seconds, seed=0):
    """Amplitude-modulated harmonics + noise (changes over time)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.3 * t)
    wav = np.sin(2 * np.pi * np.cumsum(f0) / RATE) * (
        0.5 + 0.5 * np.sin(2 * np.pi * 2.0 * t)
    )
    return (0.3 * wav + 0.02 * rng.standard_normal(t.size)).astype("float32")


@pytest.mark.parametrize(
    "num_samples,window,hop",
    [(1, 10, 10), (10, 10, 10), (11, 10, 10), (16, 10, 10), (95, 10, 3)],
)
def test_windows_cover_the_recording_in_order(num_samples, window, hop):
    bounds = window_bounds(num_samples, window, hop)
    assert bounds[0][0] == 0 and bounds[-1][1] == num_samples
    covered = np.zeros(num_samples, dtype=bool)
    for start, stop in bounds:
        covered[start:stop] = True
        assert stop - start <= window + hop // 2
    assert covered.all()
    starts = [start for start, _ in bounds]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    # no window but a single one is shorter than half a hop
    if len(bounds) > 1:
        assert min(b - a for a, b in bounds) >= hop / 2


def test_window_arguments_are_checked():
    with pytest.raises(ValueError, match="must not exceed window"):
        window_bounds(100, 10, 11)
    with pytest.raises(ValueError, match="positive int"):
        window_bounds(0, 10, 10)
    with pytest.raises(ValueError, match="window_seconds"):
        seconds_to_samples(0.0, None, RATE)


def test_batched_windows_equal_one_by_one(encoder):
    """Windows of several recordings batched together (padded) give the
    pooled embedding of each recording encoded alone, window by window."""
    wavs = [_speechlike(s, seed=i) for i, s in enumerate([3.3, 0.8, 2.05])]
    window, hop = seconds_to_samples(1.0, 0.5, RATE)
    batch = torch.zeros(3, max(len(w) for w in wavs))
    for i, w in enumerate(wavs):
        batch[i, : len(w)] = torch.from_numpy(w)
    lens = torch.tensor([len(w) / batch.shape[1] for w in wavs])
    batched = embed_in_windows(encoder, batch, lens, window, hop)
    for i, w in enumerate(wavs):
        alone = embed_in_windows(
            encoder,
            torch.from_numpy(w)[None],
            torch.ones(1),
            window,
            hop,
            windows_per_batch=1,
        )
        for level_b, level_a in zip(batched, alone, strict=True):
            cos = torch.nn.functional.cosine_similarity(
                level_b[i], level_a[0], dim=0
            )
            assert cos > 0.9999, (i, float(cos))
    # a recording shorter than a window is encoded whole, as without windows
    whole = encoder(torch.from_numpy(wavs[1])[None], torch.ones(1))
    assert torch.allclose(batched[-1][1], whole[-1][0], atol=1e-4)
    # pooling is not the embedding of the whole: windows matter
    long_whole = encoder(torch.from_numpy(wavs[0])[None], torch.ones(1))
    cos = torch.nn.functional.cosine_similarity(
        batched[-1][0], long_whole[-1][0], dim=0
    )
    assert cos < 0.99999


def test_streamed_file_equals_in_memory_and_is_deterministic(encoder, tmp_path):
    wav = _speechlike(7.3, seed=3)
    path = tmp_path / "long.wav"
    sf.write(path, wav, RATE, subtype="FLOAT")
    window, hop = seconds_to_samples(2.0, 1.5, RATE)
    memory = embed_in_windows(
        encoder, torch.from_numpy(wav)[None], torch.ones(1), window, hop
    )
    first = embed_file_in_windows(
        encoder, str(path), RATE, window_seconds=2.0, hop_seconds=1.5
    )
    second = embed_file_in_windows(
        encoder,
        str(path),
        RATE,
        window_seconds=2.0,
        hop_seconds=1.5,
        windows_per_batch=2,
    )
    for level_m, level_1, level_2 in zip(memory, first, second, strict=True):
        # same windows, same batches: the same numbers
        assert torch.allclose(level_m[0], level_1, atol=1e-5)
        # other batches of windows: other padding of the short last window
        cos = torch.nn.functional.cosine_similarity(level_1, level_2, dim=0)
        assert cos > 0.9999
        assert torch.allclose(level_1.norm(), torch.tensor(1.0), atol=1e-5)
    # exactly the same embedding when the same file is embedded twice
    again = embed_file_in_windows(
        encoder, str(path), RATE, window_seconds=2.0, hop_seconds=1.5
    )
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))


def test_streamed_segment_and_silence(encoder, tmp_path):
    wav = _speechlike(6.0, seed=4)
    path = tmp_path / "a.wav"
    sf.write(path, wav, RATE, subtype="FLOAT")
    segment = embed_file_in_windows(
        encoder, str(path), RATE, window_seconds=1.0, start=1.0, stop=4.0
    )
    window, hop = seconds_to_samples(1.0, None, RATE)
    expected = embed_in_windows(
        encoder,
        torch.from_numpy(wav[RATE : 4 * RATE])[None],
        torch.ones(1),
        window,
        hop,
    )
    assert torch.allclose(segment[-1], expected[-1][0], atol=1e-5)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(3 * RATE, dtype="float32"), RATE)
    with pytest.raises(ValueError, match="silent"):
        embed_file_in_windows(encoder, str(silent), RATE, window_seconds=1.0)


def test_index_embeds_long_items_in_windows_deterministically(
    encoder, tmp_path
):
    items = {}
    for i, seconds in enumerate([0.8, 5.5, 1.4]):
        path = tmp_path / f"u{i}.wav"
        sf.write(path, _speechlike(seconds, seed=10 + i), RATE, subtype="FLOAT")
        items[f"u{i}"] = {"wav": str(path), "spk": str(i)}

    def encode(wavs, lens):
        return encoder(wavs, lens)[-1]

    options = {"window_seconds": 2.0, "hop_seconds": 1.0, "progress": False}
    index = build_index(encode, items, tmp_path / "idx1", **options)
    again = build_index(encode, items, tmp_path / "idx2", **options)
    assert torch.equal(index.embeddings, again.embeddings)
    # one item per shard: other batches of the short items, same long one
    sharded = build_index(
        encode, items, tmp_path / "idx3", shard_size=1, **options
    )
    cos = (index.embeddings * sharded.embeddings).sum(dim=1)
    assert bool((cos > 0.9999).all()), cos
    assert torch.equal(index.embeddings[1], sharded.embeddings[1])
    long_item = embed_file_in_windows(
        encode, items["u1"]["wav"], RATE, window_seconds=2.0, hop_seconds=1.0
    )
    assert torch.allclose(index.embeddings[1], long_item, atol=1e-6)
    short = encode(
        torch.from_numpy(sf.read(items["u0"]["wav"], dtype="float32")[0])[None],
        torch.ones(1),
    )
    assert torch.allclose(sharded.embeddings[0], short[0], atol=1e-6)
    info = json.loads((tmp_path / "idx1" / "index.json").read_text())
    assert info["count"] == 3


MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    import torch
    torch.set_num_threads(1)
    from speechbrain_style.lobes import ECAPASpeechEncoder, ProjectionHead
    from speechbrain_style.retrieval.index import build_index

    torch.manual_seed(0)
    # the StyleSynth recipes' ECAPA-TDNN (60 mels, C=128, 384-d MFA)
    ecapa = ECAPASpeechEncoder(
        n_mels=60, channels=[128, 128, 128, 128, 384], lin_neurons=192
    ).eval()
    head = ProjectionHead(192, proj_size=256, num_transform_layers=1).eval()

    def encode(wavs, lens):
        return head(ecapa(wavs, lens))[-1]

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    out = {"start": peak_mb()}
    for name in sys.argv[2:]:
        build_index(
            encode,
            {name: {"wav": f"{sys.argv[1]}/{name}.wav"}},
            f"{sys.argv[1]}/index_{name}",
            window_seconds=10.0,
            progress=False,
        )
        out[name] = peak_mb()
    print(json.dumps(out))
    """
)
MEMORY_BOUND_MB = 60
"""A 10-minute file must index within this many MB of the peak a 2-minute
file reached (measured: 16 to 35, allocator noise; encoding each file whole
instead: +880)."""
PEAK_BOUND_MB = 400
"""... and within this many MB of the process' footprint before indexing
(measured: about 200; the 10-minute file whole: 1,140)."""


def _write_long(path, minutes):
    """A long 16 kHz PCM file, written in blocks (little memory here)."""
    rng = np.random.default_rng(0)
    block = _speechlike(10.0)
    with sf.SoundFile(path, "w", RATE, 1, subtype="PCM_16") as fout:
        for _ in range(int(minutes * 6)):
            fout.write(block + 0.01 * rng.standard_normal(block.size))


def test_ten_minute_file_indexes_with_flat_memory(tmp_path):
    """Peak RSS of indexing a 10-minute file, measured in a fresh process
    after a 2-minute one: windows are read and encoded a few at a time, so
    the peak does not grow with the length of the file."""
    _write_long(tmp_path / "two.wav", 2)
    _write_long(tmp_path / "ten.wav", 10)
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(tmp_path), "two", "ten"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    peaks = json.loads(proc.stdout.strip().splitlines()[-1])
    growth = peaks["ten"] - peaks["two"]
    assert growth < MEMORY_BOUND_MB, peaks
    assert peaks["ten"] - peaks["start"] < PEAK_BOUND_MB, peaks
