"""Sharded, resumable and distributed index building.

The interrupted, resumed, uninterrupted and ``torchrun`` builds run in
subprocesses of a small entry script (written to ``tmp_path``) with a tiny
deterministic encoder (Fbank + a seeded linear layer + masked mean pooling),
one thread each, so that every run computes bitwise the same embeddings.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
import torch

from speechbrain_style.retrieval.index import (
    StyleIndex,
    StyleIndexError,
    build_index,
    index_progress,
)

SAMPLE_RATE = 16000
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
# 12 items, unsorted lengths; shards of 2 items -> 6 shards.
DURATIONS = [0.5, 1.3, 0.3, 0.9, 0.7, 1.0, 0.4, 1.1, 0.6, 0.8, 0.35, 1.2]
SHARD_SIZE = 2
NUM_SHARDS = 6

ENTRY_SCRIPT = """
import json, os, sys, time
import torch
torch.set_num_threads(1)
from speechbrain.lobes.features import Fbank
from speechbrain_style.retrieval.index import build_index

manifest, out_dir, sleep, fp16, calls_path = sys.argv[1:6]
torch.manual_seed(0)
fbank = Fbank(n_mels=20, sample_rate=16000)
linear = torch.nn.Linear(20, 12)
rank = int(os.environ.get("RANK", "0"))

def encode_batch(wavs, lens):
    feats = fbank(wavs)
    frames = (lens * feats.shape[1]).round().clamp(min=1)
    valid = torch.arange(feats.shape[1])[None, :] < frames[:, None]
    hidden = linear(feats) * valid.unsqueeze(-1)
    emb = hidden.sum(1) / frames[:, None]
    with open(f"{calls_path}.{rank}", "a") as log:
        log.write(json.dumps(int(wavs.shape[0])) + "\\n")
    time.sleep(float(sleep))
    return torch.nn.functional.normalize(emb, dim=1)

with open(manifest) as f:
    items = json.load(f)
build_index(
    encode_batch, items, out_dir, batch_size=2, shard_size=2,
    fp16=fp16 == "1", keep_shards=True, progress=False,
    model_info={"fingerprint": "tiny-fbank-linear"},
)
"""


def _write_corpus(root):
    rng = np.random.default_rng(0)
    items = {}
    for i, seconds in enumerate(DURATIONS):
        t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
        wav = 0.3 * np.sin(2 * np.pi * 120.0 * (i + 1) * t)
        wav += 0.01 * rng.standard_normal(t.shape)
        path = root / f"utt{i}.wav"
        sf.write(path, wav.astype(np.float32), SAMPLE_RATE)
        items[f"utt{i}"] = {"wav": str(path), "style": ["a", "b", "c"][i % 3]}
    return items


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    items = _write_corpus(root)
    manifest = root / "items.json"
    manifest.write_text(json.dumps(items))
    script = root / "entry.py"
    script.write_text(ENTRY_SCRIPT)
    return {
        "root": root,
        "items": items,
        "manifest": manifest,
        "script": script,
    }


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    return env


def _command(setup, out_dir, sleep=0.0, fp16=False):
    return [
        str(setup["script"]),
        str(setup["manifest"]),
        str(out_dir),
        str(sleep),
        "1" if fp16 else "0",
        str(out_dir) + ".calls",
    ]


def _run(setup, out_dir, **kwargs):
    result = subprocess.run(
        [sys.executable, *_command(setup, out_dir, **kwargs)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def _encoded_items(out_dir, rank=0):
    path = f"{out_dir}.calls.{rank}"
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return sum(json.loads(line) for line in f if line.strip())


def _shard_stats(out_dir, shards):
    stats = {}
    for shard in shards:
        for suffix in (".npy", ".json"):
            path = os.path.join(out_dir, "shards", f"shard-{shard:05d}{suffix}")
            st = os.stat(path)
            stats[path] = (st.st_ino, st.st_mtime_ns)
    return stats


def _assert_same_index(dir_a, dir_b):
    emb_a = np.load(os.path.join(dir_a, "embeddings.npy"))
    emb_b = np.load(os.path.join(dir_b, "embeddings.npy"))
    assert emb_a.dtype == emb_b.dtype
    assert emb_a.tobytes() == emb_b.tobytes()  # bitwise
    with open(os.path.join(dir_a, "items.json")) as f:
        items_a = json.load(f)
    with open(os.path.join(dir_b, "items.json")) as f:
        items_b = json.load(f)
    assert items_a == items_b


@pytest.fixture(scope="module")
def reference(setup):
    """An uninterrupted build (one process)."""
    out_dir = setup["root"] / "reference"
    _run(setup, out_dir)
    return out_dir


def test_killed_build_resumes_without_recomputing(setup, reference):
    out_dir = setup["root"] / "killed"
    # 0.5 s per batch of 2 items: the run takes >= 3 s of encoding.
    process = subprocess.Popen(
        [sys.executable, *_command(setup, out_dir, sleep=0.5)],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not index_progress(out_dir)["finished"]:
            assert process.poll() is None, process.stderr.read()[-3000:]
            assert time.monotonic() < deadline, "no shard finished in 60 s"
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    progress = index_progress(out_dir)
    finished = progress["finished"]
    assert progress["num_shards"] == NUM_SHARDS
    assert not progress["complete"]
    assert 1 <= len(finished) < NUM_SHARDS
    shards_dir = out_dir / "shards"
    # Leftovers of a shard being written when the process died: a temporary
    # file and an .npy without its .json. Neither may be read.
    unfinished = min(set(range(NUM_SHARDS)) - set(finished))
    (shards_dir / f"shard-{unfinished:05d}.npy").write_bytes(b"garbage")
    (shards_dir / f".shard-{unfinished:05d}.npy.x1.tmp").write_bytes(b"half")
    before = _shard_stats(out_dir, finished)
    encoded_before = _encoded_items(out_dir)

    _run(setup, out_dir)

    assert index_progress(out_dir)["complete"]
    _assert_same_index(out_dir, reference)
    # Finished shards were reused: files untouched, and only the items of
    # the other shards were encoded by the rerun.
    assert _shard_stats(out_dir, finished) == before
    encoded_by_rerun = _encoded_items(out_dir) - encoded_before
    assert encoded_by_rerun == len(DURATIONS) - SHARD_SIZE * len(finished)
    assert not [n for n in os.listdir(shards_dir) if n.endswith(".tmp")]

    # A rerun of a complete build (same plan) encodes nothing.
    index = build_index(
        _never_called,
        setup["items"],
        out_dir,
        batch_size=2,
        shard_size=SHARD_SIZE,
        model_info={"fingerprint": "tiny-fbank-linear"},
        progress=False,
    )
    assert index.ids == list(setup["items"])
    _assert_same_index(out_dir, reference)


def test_torchrun_two_processes_match_one_process(setup, reference):
    out_dir = setup["root"] / "torchrun"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--standalone",
        *_command(setup, out_dir),
    ]
    result = subprocess.run(
        command, env=_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    _assert_same_index(out_dir, reference)
    info = json.loads((out_dir / "index.json").read_text())
    assert info["build"]["num_shards"] == NUM_SHARDS
    # Each rank encoded its own half of the shards (3 shards of 2 items).
    assert _encoded_items(out_dir, 0) == 6
    assert _encoded_items(out_dir, 1) == 6


def _never_called(wavs, lens):
    raise AssertionError("the encoder must not run")


@pytest.mark.parametrize("damage", ["truncated", "flipped", "deleted"])
def test_damaged_finished_shard_is_recomputed(
    setup, reference, tmp_path, damage
):
    """A finished shard whose .npy no longer matches is encoded again."""
    out_dir = tmp_path / "copy"
    shutil.copytree(reference, out_dir)
    os.remove(out_dir / "index.json")  # as if killed before the merge
    shard = out_dir / "shards" / "shard-00003.npy"
    data = bytearray(shard.read_bytes())
    if damage == "truncated":
        shard.write_bytes(bytes(data[: len(data) // 2]))
    elif damage == "flipped":
        data[-3] ^= 0xFF
        shard.write_bytes(bytes(data))
    else:
        os.remove(shard)
    others = _shard_stats(out_dir, [s for s in range(NUM_SHARDS) if s != 3])
    result = subprocess.run(
        [sys.executable, *_command(setup, out_dir)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Recomputing shard 3" in result.stderr
    assert "shard-00003" in result.stderr
    _assert_same_index(out_dir, reference)
    # Only the damaged shard's two items were encoded; the others reused.
    assert _encoded_items(out_dir) == SHARD_SIZE
    for path, stat in others.items():
        st = os.stat(path)
        assert (st.st_ino, st.st_mtime_ns) == stat


def test_merge_still_refuses_a_shard_damaged_after_encoding(tmp_path):
    """The merge verifies every shard again and names a bad one."""
    from speechbrain_style.retrieval.index import _finished_shard

    shards_dir = tmp_path / "shards"
    shards_dir.mkdir()
    (shards_dir / "shard-00000.json").write_text(
        json.dumps({"plan_sha256": "p", "count": 1, "embeddings_sha256": "x"})
    )
    (shards_dir / "shard-00000.npy").write_bytes(b"not the right bytes")
    with pytest.raises(StyleIndexError, match=r"shard-00000.npy is corrupt"):
        _finished_shard(str(shards_dir), 0, "p")
    assert (shards_dir / "shard-00000.npy").exists()
    assert _finished_shard(str(shards_dir), 0, "p", recompute=True) is None
    assert not list(shards_dir.iterdir())


class CrashingEncoder:
    """Embeds ``dim`` statistics; raises on call number ``crash_at``."""

    def __init__(self, dim, crash_at=None):
        self.dim = dim
        self.crash_at = crash_at
        self.items = 0
        self.calls = 0

    def __call__(self, wavs, lens):
        self.calls += 1
        if self.calls == self.crash_at:
            raise KeyboardInterrupt
        self.items += wavs.shape[0]
        powers = torch.arange(1, self.dim + 1, dtype=torch.float32)
        feats = wavs.abs().mean(1, keepdim=True) ** (1.0 / powers)
        return torch.nn.functional.normalize(feats + powers, dim=1)


def test_resume_checks_model_and_dimension(setup, tmp_path):
    items = setup["items"]
    options = {"batch_size": 2, "shard_size": SHARD_SIZE, "progress": False}
    out_dir = tmp_path / "index"
    with pytest.raises(KeyboardInterrupt):
        build_index(CrashingEncoder(4, crash_at=3), items, out_dir, **options)
    assert index_progress(out_dir)["finished"] == [0, 1]
    # Same (absent) model description but another output dimension: the
    # merge refuses to mix the shards and names them.
    with pytest.raises(StyleIndexError, match=r"6-dim.*4-dim.*different"):
        build_index(CrashingEncoder(6), items, out_dir, **options)

    # With a model fingerprint, shards of another model are never reused.
    out_dir = tmp_path / "index2"
    with pytest.raises(KeyboardInterrupt):
        build_index(
            CrashingEncoder(4, crash_at=3),
            items,
            out_dir,
            model_info={"fingerprint": "a"},
            **options,
        )
    encoder = CrashingEncoder(6)
    index = build_index(
        encoder, items, out_dir, model_info={"fingerprint": "b"}, **options
    )
    assert encoder.items == len(items)
    assert index.dim == 6
    assert sorted(os.listdir(out_dir)) == [
        "embeddings.npy",
        "index.json",
        "items.json",
    ]
    # Loading checks the dimension and model the caller expects.
    with pytest.raises(StyleIndexError, match=r"6-dimensional.*4 were"):
        StyleIndex.load(out_dir, expected_dim=4)
    with pytest.raises(StyleIndexError, match=r"fingerprint: expected 'a'"):
        StyleIndex.load(out_dir, expected_model="a")


def test_fp16_storage(setup, tmp_path):
    items = setup["items"]
    encoder = CrashingEncoder(8)
    full = build_index(encoder, items, tmp_path / "fp32", progress=False)
    half = build_index(
        encoder, items, tmp_path / "fp16", fp16=True, progress=False
    )
    loaded = StyleIndex.load(tmp_path / "fp16", expected_dim=8)
    assert loaded.info["dtype"] == "float16"
    assert loaded.info["format_version"] == 2
    assert loaded.embeddings.dtype == torch.float16
    assert torch.equal(loaded.embeddings, half.embeddings)
    assert torch.equal(loaded.embeddings, full.embeddings.half())
    size32 = os.path.getsize(tmp_path / "fp32" / "embeddings.npy")
    size16 = os.path.getsize(tmp_path / "fp16" / "embeddings.npy")
    assert size16 - 128 == (size32 - 128) // 2  # 128-byte .npy header
    # Searched in float32 on the float16 rows: scores are exact products.
    query = torch.nn.functional.normalize(torch.randn(3, 8), dim=1)
    for hits_16, scores in zip(
        loaded.search(query, k=4),
        query @ loaded.embeddings.float().T,
        strict=True,
    ):
        rows = [loaded.ids.index(hit["id"]) for hit in hits_16]
        torch.testing.assert_close(
            torch.tensor([hit["score"] for hit in hits_16]),
            scores[rows],
        )
        assert rows == scores.topk(4).indices.tolist()


def test_version_1_index_still_loads(tmp_path):
    emb = torch.nn.functional.normalize(torch.randn(3, 4), dim=1).numpy()
    np.save(tmp_path / "embeddings.npy", emb)
    items = [
        {"id": f"u{i}", "wav": f"{i}.wav", "metadata": {}} for i in range(3)
    ]
    (tmp_path / "items.json").write_text(json.dumps(items))
    from speechbrain_style.dataio.files import file_sha256

    info = {
        "format_version": 1,
        "dim": 4,
        "count": 3,
        "dtype": "float32",
        "embeddings_sha256": file_sha256(tmp_path / "embeddings.npy"),
        "items_sha256": file_sha256(tmp_path / "items.json"),
    }
    (tmp_path / "index.json").write_text(json.dumps(info))
    assert StyleIndex.load(tmp_path).ids == ["u0", "u1", "u2"]
    info["format_version"] = 7
    (tmp_path / "index.json").write_text(json.dumps(info))
    with pytest.raises(StyleIndexError, match=r"format version 7.*\[1, 2\]"):
        StyleIndex.load(tmp_path)


def test_bad_shard_size(setup, tmp_path):
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="shard_size"):
            build_index(_never_called, setup["items"], tmp_path, shard_size=bad)
