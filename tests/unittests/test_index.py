"""Tests for speechbrain_style.retrieval.index."""

import json
import os
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch
from speechbrain.lobes.features import Fbank

from speechbrain_style.dataio.audio import AudioError, load_audio
from speechbrain_style.dataio.files import file_sha256
from speechbrain_style.retrieval.index import (
    ExactSearch,
    StyleIndex,
    StyleIndexError,
    build_index,
    module_fingerprint,
)

SAMPLE_RATE = 16000
# Durations deliberately not sorted, so that length-sorted batching reorders.
DURATIONS = [0.5, 1.2, 0.3, 0.9, 0.7, 1.0, 0.4]
STYLES = ["happy", "sad", "sad", "angry", "happy", "sad", "neutral"]

_FBANK = Fbank(n_mels=40, sample_rate=SAMPLE_RATE)


def fbank_stats_embedder(wavs, lens):
    """Mean and std of log-mel frames over the valid (unpadded) frames."""
    feats = _FBANK(wavs)
    num_frames = (lens * feats.shape[1]).round().clamp(min=1)
    valid = torch.arange(feats.shape[1])[None, :] < num_frames[:, None]
    valid = valid.unsqueeze(-1).float()
    mean = (feats * valid).sum(1) / num_frames[:, None]
    var = (((feats - mean[:, None]) ** 2) * valid).sum(1) / num_frames[:, None]
    emb = torch.cat([mean, var.sqrt()], dim=1)
    return torch.nn.functional.normalize(emb, dim=1)


class RecordingEncoder:
    """The real embedder, recording the batch shapes it is called with."""

    def __init__(self, encode=fbank_stats_embedder):
        self.encode = encode
        self.calls = []

    def __call__(self, wavs, lens):
        self.calls.append((wavs.shape, lens.clone()))
        return self.encode(wavs, lens)


def _write_corpus(root, durations=DURATIONS, styles=STYLES):
    rng = np.random.default_rng(0)
    items = {}
    for i, (seconds, style) in enumerate(zip(durations, styles, strict=True)):
        t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
        freq = 150.0 * (i + 1)
        wav = 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(
            t.shape
        )
        path = root / f"utt{i}.wav"
        sf.write(path, wav.astype(np.float32), SAMPLE_RATE)
        items[f"utt{i}"] = {"wav": str(path), "style": style, "spk": i % 3}
    return items


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    items = _write_corpus(root)
    encoder = RecordingEncoder()
    out_dir = root / "index"
    index = build_index(
        encoder,
        items,
        out_dir,
        batch_size=2,
        model_info={"model": "fbank-stats", "fingerprint": "abc123"},
        progress=False,
    )
    return {"items": items, "encoder": encoder, "dir": out_dir, "index": index}


def test_files_and_metadata_written(corpus):
    out_dir = corpus["dir"]
    assert sorted(os.listdir(out_dir)) == [
        "embeddings.npy",
        "index.json",
        "items.json",
    ]
    info = json.loads((out_dir / "index.json").read_text())
    assert info["dim"] == 80
    assert info["count"] == len(DURATIONS)
    assert info["dtype"] == "float32"
    assert info["sample_rate"] == SAMPLE_RATE
    assert info["model_info"] == {
        "model": "fbank-stats",
        "fingerprint": "abc123",
    }
    assert info["embeddings_sha256"] == file_sha256(out_dir / "embeddings.npy")
    assert info["skipped"] == [] and info["num_skipped"] == 0
    embeddings = np.load(out_dir / "embeddings.npy")
    assert embeddings.dtype == np.float32
    assert embeddings.shape == (len(DURATIONS), 80)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1, atol=1e-5)


def test_order_preserved_despite_length_sorting(corpus):
    items = corpus["items"]
    records = json.loads((corpus["dir"] / "items.json").read_text())
    assert [r["id"] for r in records] == list(items)
    assert [r["wav"] for r in records] == [it["wav"] for it in items.values()]
    assert records[3]["metadata"] == {"style": "angry", "spk": 0}

    # Each stored row is the embedding of its own item computed alone.
    stored = torch.from_numpy(np.load(corpus["dir"] / "embeddings.npy"))
    alone = torch.cat(
        [
            fbank_stats_embedder(
                load_audio(item["wav"]).unsqueeze(0), torch.ones(1)
            )
            for item in items.values()
        ]
    )
    torch.testing.assert_close(stored, alone, atol=1e-5, rtol=0)
    similarity = stored @ alone.T
    assert similarity.argmax(dim=1).tolist() == list(range(len(items)))


def test_batches_are_length_sorted(corpus):
    calls = corpus["encoder"].calls
    # Longest first, pairs of neighbours in length: 1.2+1.0, 0.9+0.7,
    # 0.5+0.4, 0.3 -> padded lengths are the first (longest) of each pair.
    expected_lengths = [1.2, 0.9, 0.5, 0.3]
    assert [shape[0] for shape, _ in calls] == [2, 2, 2, 1]
    assert [shape[1] for shape, _ in calls] == [
        int(s * SAMPLE_RATE) for s in expected_lengths
    ]
    expected_lens = [[1.0, 1.0 / 1.2], [1.0, 0.7 / 0.9], [1.0, 0.8], [1.0]]
    for (_, lens), expected in zip(calls, expected_lens, strict=True):
        torch.testing.assert_close(
            lens, torch.tensor(expected), atol=1e-4, rtol=0
        )


def test_manifest_duration_drives_sorting(tmp_path):
    items = _write_corpus(tmp_path, durations=[0.3, 0.6], styles=["a", "b"])
    # Wrong on purpose: the manifest claims utt0 is the longer one.
    items["utt0"]["duration"] = 5.0
    items["utt1"]["duration"] = 1.0
    encoder = RecordingEncoder()
    build_index(encoder, items, tmp_path / "idx", batch_size=1, progress=False)
    assert [shape[1] for shape, _ in encoder.calls] == [4800, 9600]


def test_max_batch_seconds_bounds_padding(tmp_path):
    items = _write_corpus(tmp_path)
    encoder = RecordingEncoder()
    index = build_index(
        encoder,
        items,
        tmp_path / "idx",
        batch_size=16,
        max_batch_seconds=2.0,
        progress=False,
    )
    sizes = [shape[0] for shape, _ in encoder.calls]
    padded = [shape[0] * shape[1] / SAMPLE_RATE for shape, _ in encoder.calls]
    # 1.2+1.0 would pad to 2.4 s: 1.2 alone; then 1.0, 0.9 (2.0 s); 0.7, 0.5
    # (1.4 s; a third would make 2.1 s); 0.4, 0.3 (0.8 s).
    assert sizes == [1, 2, 2, 2]
    assert max(padded) <= 2.0 + 1e-9
    assert index.ids == list(items)


def test_search_own_embedding_is_rank_one(corpus):
    index = StyleIndex.load(corpus["dir"])
    assert len(index) == len(DURATIONS)
    assert index.ids == list(corpus["items"])
    assert isinstance(index.embeddings, torch.Tensor)
    results = index.search(index.embeddings, k=3)
    assert len(results) == len(index)
    for row, hits in enumerate(results):
        assert len(hits) == 3
        top = hits[0]
        assert top["id"] == index.ids[row]
        assert top["rank"] == 1
        assert top["score"] == pytest.approx(1.0, abs=1e-5)
        assert top["wav"] == corpus["items"][top["id"]]["wav"]
        assert top["metadata"]["style"] == STYLES[row]
        assert [hit["rank"] for hit in hits] == [1, 2, 3]
        scores = [hit["score"] for hit in hits]
        assert scores == sorted(scores, reverse=True)
        assert scores[1] < 1.0 - 1e-4
    # A single (D,) query, scaled: cosine search ignores the norm.
    hits = index.search(3.0 * index.embeddings[4], k=1)
    assert hits[0][0]["id"] == "utt4"
    assert hits[0][0]["score"] == pytest.approx(1.0, abs=1e-5)


def test_chunked_search_equals_full_topk():
    generator = torch.Generator().manual_seed(0)
    embeddings = torch.randn(1000, 16, generator=generator)
    queries = torch.randn(7, 16, generator=generator)
    full_scores, full_indices = torch.topk(queries @ embeddings.T, 10, dim=1)
    backend = ExactSearch(embeddings, chunk_size=128, query_chunk_size=3)
    scores, indices = backend.search(queries, 10)
    assert torch.equal(indices, full_indices)
    torch.testing.assert_close(scores, full_scores)

    mask = torch.rand(1000, generator=generator) < 0.3
    masked = (queries @ embeddings.T).masked_fill(~mask, float("-inf"))
    full_scores, full_indices = torch.topk(masked, 10, dim=1)
    scores, indices = backend.search(queries, 10, mask)
    assert torch.equal(indices, full_indices)
    torch.testing.assert_close(scores, full_scores)
    assert mask[indices].all()

    # k larger than the eligible set returns every eligible item.
    few = torch.zeros(1000, dtype=torch.bool)
    few[[5, 500, 999]] = True
    scores, indices = backend.search(queries, 10, few)
    assert indices.shape == (7, 3)
    assert sorted(indices[0].tolist()) == [5, 500, 999]


def test_style_index_chunked_search_matches_topk():
    generator = torch.Generator().manual_seed(1)
    embeddings = torch.nn.functional.normalize(
        torch.randn(1000, 16, generator=generator), dim=1
    )
    items = [
        {"id": f"i{n}", "wav": f"{n}.wav", "metadata": {}} for n in range(1000)
    ]
    index = StyleIndex(embeddings, items, chunk_size=128)
    query = torch.nn.functional.normalize(
        torch.randn(16, generator=generator), dim=0
    )
    expected_scores, expected_rows = torch.topk(embeddings @ query, 10)
    hits = index.search(query, k=10)[0]
    assert [hit["id"] for hit in hits] == [f"i{r}" for r in expected_rows]
    np.testing.assert_allclose(
        [hit["score"] for hit in hits], expected_scores.numpy(), atol=1e-6
    )


def test_filters(corpus):
    index = corpus["index"]
    query = index.embeddings[0]
    hits = index.search(query, k=10, filters={"style": "sad"})[0]
    assert sorted(hit["id"] for hit in hits) == ["utt1", "utt2", "utt5"]
    hits = index.search(query, k=10, filters={"style": ["happy", "angry"]})[0]
    assert sorted(hit["id"] for hit in hits) == ["utt0", "utt3", "utt4"]
    assert hits[0]["id"] == "utt0"
    hits = index.search(query, k=10, filters={"style": "sad", "spk": 2})[0]
    assert sorted(hit["id"] for hit in hits) == ["utt2", "utt5"]
    for hit in hits:
        assert hit["metadata"]["style"] == "sad"
        assert hit["metadata"]["spk"] == 2
    assert index.search(query, k=10, filters={"style": "bored"}) == [[]]
    with pytest.raises(ValueError, match="'emotion'.*known fields"):
        index.search(query, k=10, filters={"emotion": "sad"})


def test_corrupt_embeddings_give_clear_error(corpus, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(corpus["dir"], copy)
    emb_path = copy / "embeddings.npy"
    data = bytearray(emb_path.read_bytes())
    data[-5] ^= 0xFF
    emb_path.write_bytes(bytes(data))
    with pytest.raises(StyleIndexError, match=r"embeddings.npy is corrupt"):
        StyleIndex.load(copy)
    emb_path.write_bytes(bytes(data[:100]))
    with pytest.raises(StyleIndexError, match=r"embeddings.npy is corrupt"):
        StyleIndex.load(copy)
    os.remove(copy / "index.json")
    with pytest.raises(FileNotFoundError, match="index.json not found"):
        StyleIndex.load(copy)


def test_corrupt_items_give_clear_error(corpus, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(corpus["dir"], copy)
    items_path = copy / "items.json"
    items_path.write_text(items_path.read_text().replace("utt1", "uttX"))
    with pytest.raises(StyleIndexError, match=r"items.json is corrupt"):
        StyleIndex.load(copy)


def test_dimension_and_model_mismatch(corpus):
    with pytest.raises(StyleIndexError, match=r"80-dimensional.*16 were"):
        StyleIndex.load(corpus["dir"], expected_dim=16)
    index = StyleIndex.load(
        corpus["dir"],
        expected_dim=80,
        expected_model={"model": "fbank-stats"},
    )
    assert index.model_info["fingerprint"] == "abc123"
    StyleIndex.load(corpus["dir"], expected_model="abc123")
    with pytest.raises(StyleIndexError, match=r"fingerprint: expected 'zzz'"):
        StyleIndex.load(corpus["dir"], expected_model="zzz")
    with pytest.raises(StyleIndexError, match=r"another model"):
        StyleIndex.load(corpus["dir"], expected_model={"model": "ecapa"})
    with pytest.raises(ValueError, match=r"\(Q, 80\)"):
        index.search(torch.zeros(16), k=1)


def _write_bad_files(root):
    bad = {}
    bad["missing"] = {"wav": str(root / "missing.wav")}
    garbage = root / "garbage.wav"
    garbage.write_bytes(b"\x00\x01garbage" * 50)
    bad["garbage"] = {"wav": str(garbage)}
    empty = root / "empty.wav"
    sf.write(empty, np.zeros(0, dtype=np.float32), SAMPLE_RATE)
    bad["empty"] = {"wav": str(empty)}
    zeros = root / "zeros.wav"
    sf.write(zeros, np.zeros(8000, dtype=np.float32), SAMPLE_RATE)
    bad["zeros"] = {"wav": str(zeros), "duration": 0.5}
    return bad


def test_skip_mode_records_skipped_items(tmp_path):
    good = _write_corpus(tmp_path, durations=[0.4, 0.6], styles=["a", "b"])
    bad = _write_bad_files(tmp_path)
    items = {
        "utt0": good["utt0"],
        **{k: bad[k] for k in ["missing", "garbage"]},
        "utt1": good["utt1"],
        **{k: bad[k] for k in ["empty", "zeros"]},
    }
    index = build_index(
        fbank_stats_embedder,
        items,
        tmp_path / "idx",
        on_error="skip",
        progress=False,
    )
    assert index.ids == ["utt0", "utt1"]
    loaded = StyleIndex.load(tmp_path / "idx")
    assert loaded.ids == ["utt0", "utt1"]
    skipped = loaded.info["skipped"]
    assert loaded.info["num_skipped"] == 4
    assert [(s["id"], s["reason"]) for s in skipped] == [
        ("missing", "missing"),
        ("garbage", "unreadable"),
        ("empty", "empty"),
        ("zeros", "silent"),
    ]
    for entry in skipped:
        assert entry["wav"] == items[entry["id"]]["wav"]
        assert os.path.basename(entry["wav"]) in entry["error"]


@pytest.mark.parametrize(
    "item_id,error",
    [
        ("missing", FileNotFoundError),
        ("garbage", AudioError),
        ("empty", AudioError),
        ("zeros", AudioError),
    ],
)
def test_raise_mode_names_item_and_path(tmp_path, item_id, error):
    good = _write_corpus(tmp_path, durations=[0.4], styles=["a"])
    bad = _write_bad_files(tmp_path)
    items = {"utt0": good["utt0"], item_id: bad[item_id]}
    with pytest.raises(error) as info:
        build_index(
            fbank_stats_embedder, items, tmp_path / "idx", progress=False
        )
    message = str(info.value)
    assert f"Item '{item_id}'" in message
    assert bad[item_id]["wav"] in message
    assert not (tmp_path / "idx" / "index.json").exists()


def test_all_items_bad_raises(tmp_path):
    bad = _write_bad_files(tmp_path)
    with pytest.raises(ValueError, match="No item could be encoded"):
        build_index(
            fbank_stats_embedder,
            bad,
            tmp_path / "idx",
            on_error="skip",
            progress=False,
        )


def test_unnormalised_and_invalid_encoder_outputs(tmp_path):
    items = _write_corpus(tmp_path, durations=[0.3, 0.5], styles=["a", "b"])

    def scaled(wavs, lens):
        return 5.0 * fbank_stats_embedder(wavs, lens)

    index = build_index(scaled, items, tmp_path / "a", progress=False)
    norms = index.embeddings.norm(dim=1)
    torch.testing.assert_close(norms, torch.ones(2))

    def with_nan(wavs, lens):
        emb = fbank_stats_embedder(wavs, lens)
        emb[0, 0] = float("nan")
        return emb

    with pytest.raises(ValueError, match="NaN, inf or all-zero"):
        build_index(with_nan, items, tmp_path / "b", progress=False)

    def flat(wavs, lens):
        return fbank_stats_embedder(wavs, lens).flatten()

    with pytest.raises(ValueError, match=r"must return \(2, D\)"):
        build_index(flat, items, tmp_path / "c", batch_size=2, progress=False)


def test_segment_items(tmp_path):
    items = _write_corpus(tmp_path, durations=[1.0], styles=["a"])
    items["utt0_part"] = {**items["utt0"], "start": 0.25, "stop": 0.75}
    encoder = RecordingEncoder()
    index = build_index(encoder, items, tmp_path / "idx", progress=False)
    assert index.ids == ["utt0", "utt0_part"]
    assert encoder.calls[0][0] == (2, SAMPLE_RATE)
    torch.testing.assert_close(
        encoder.calls[0][1], torch.tensor([1.0, 0.5]), atol=1e-4, rtol=0
    )


def test_rebuild_replaces_index(corpus, tmp_path):
    items = _write_corpus(tmp_path, durations=[0.3, 0.5], styles=["a", "b"])
    out_dir = tmp_path / "idx"
    build_index(fbank_stats_embedder, items, out_dir, progress=False)
    del items["utt1"]
    build_index(fbank_stats_embedder, items, out_dir, progress=False)
    assert StyleIndex.load(out_dir).ids == ["utt0"]
    assert sorted(os.listdir(out_dir)) == [
        "embeddings.npy",
        "index.json",
        "items.json",
    ]


def test_module_fingerprint_tracks_weights():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    before = module_fingerprint(model)
    assert module_fingerprint(model) == before
    with torch.no_grad():
        model[0].weight[0, 0] += 1e-3
    assert module_fingerprint(model) != before


def test_bad_arguments(tmp_path):
    items = _write_corpus(tmp_path, durations=[0.3], styles=["a"])
    with pytest.raises(ValueError, match="on_error"):
        build_index(fbank_stats_embedder, items, tmp_path, on_error="ignore")
    with pytest.raises(ValueError, match="non-empty dict"):
        build_index(fbank_stats_embedder, {}, tmp_path)
    with pytest.raises(ValueError, match="'x' has no 'wav'"):
        build_index(fbank_stats_embedder, {"x": {"path": "a"}}, tmp_path)
    with pytest.raises(TypeError, match="model_info"):
        build_index(
            fbank_stats_embedder, items, tmp_path, model_info={"m": object()}
        )
    index = StyleIndex(
        torch.eye(2), [{"id": "a", "wav": "a"}, {"id": "b", "wav": "b"}]
    )
    with pytest.raises(ValueError, match="k must be"):
        index.search(torch.ones(2), k=0)
    with pytest.raises(ValueError, match="all-zero"):
        index.search(torch.zeros(2), k=1)
