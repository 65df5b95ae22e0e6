"""Inference folder round trip, StyleRetriever and the command line.

A tiny model (a small ECAPA-TDNN and a 2-layer BERT with a tokenizer trained
on the fly) is written as an inference folder, loaded back with
``StyleRetriever.from_hparams`` and used through the CLI on synthesised
speech.
"""

import json
import os

import numpy as np
import pytest
import soundfile as sf
import torch

from speechbrain_style.cli.main import main
from speechbrain_style.corpora.stylesynth.synth import synthesize_corpus
from speechbrain_style.inference.export import write_inference_folder
from speechbrain_style.inference.retriever import StyleRetriever
from speechbrain_style.lobes import (
    ECAPASpeechEncoder,
    HFTextEncoder,
    ProjectionHead,
)
from tests.tiny_models import build_tiny_hf_text_encoder


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("inference")
    torch.manual_seed(0)
    text_dir = build_tiny_hf_text_encoder(str(root / "bert"), "bert")
    modules = {
        "speech_encoder": ECAPASpeechEncoder(
            n_mels=40, channels=[16, 16, 16, 16, 48], lin_neurons=16
        ),
        "speech_head": ProjectionHead(16, proj_size=8, num_transform_layers=1),
        "text_encoder": HFTextEncoder(text_dir, pooling="mean"),
        "text_head": ProjectionHead(32, proj_size=8, num_transform_layers=1),
    }
    for module in modules.values():
        module.eval()
    bank = ["A man speaking slowly.", "Someone whispering.", "A high voice."]
    model_dir = str(root / "model")
    write_inference_folder(
        model_dir,
        modules,
        extra={"sample_rate": 16000, "description_bank": bank},
    )
    manifests = synthesize_corpus(
        str(root / "corpus"), num_utts=10, seed=3, progress=False
    )
    return {
        "root": root,
        "modules": modules,
        "model_dir": model_dir,
        "bank": bank,
        "manifest": manifests["train"],
        "corpus": str(root / "corpus"),
    }


def _run_index(model_dir, source_option, source, index_dir, *options):
    """Runs ``index`` quietly on a manifest or an audio folder."""
    return main(
        [
            "index",
            "--model",
            model_dir,
            source_option,
            source,
            "--out",
            index_dir,
            "--quiet",
            *options,
        ]
    )


def _run_search(model_dir, index_dir, *arguments):
    """Runs ``search`` on an index; ``arguments`` are options and queries."""
    return main(
        ["search", "--model", model_dir, "--index", index_dir, *arguments]
    )


def test_round_trip_gives_the_same_embeddings(setup):
    model = StyleRetriever.from_hparams(source=setup["model_dir"])
    modules = setup["modules"]
    texts = ["A man speaking slowly.", "Someone whispering softly now."]
    with torch.no_grad():
        expected = modules["text_head"](modules["text_encoder"](texts))[-1]
    assert torch.allclose(model.encode_text(texts), expected, atol=1e-6)
    wavs = torch.randn(2, 16000) * 0.1
    lens = torch.tensor([1.0, 0.7])
    with torch.no_grad():
        feats = modules["speech_encoder"](wavs, lens)
        expected = modules["speech_head"](feats)[-1]
    got = model.encode_audio(wavs, lens)
    assert torch.allclose(got, expected, atol=1e-5)
    assert torch.allclose(got.norm(dim=-1), torch.ones(2), atol=1e-5)
    # The folder can be moved: paths inside are relative to model_dir.
    fingerprint = model.fingerprint
    moved = str(setup["root"] / "moved_model")
    os.rename(setup["model_dir"], moved)
    try:
        again = StyleRetriever.from_hparams(source=moved)
        assert torch.allclose(again.encode_audio(wavs, lens), got, atol=1e-6)
        assert again.fingerprint == fingerprint
    finally:
        os.rename(moved, setup["model_dir"])


def test_encode_files_resamples_downmixes_and_keeps_order(setup, tmp_path):
    model = StyleRetriever.from_hparams(source=setup["model_dir"])
    rng = np.random.default_rng(0)
    mono = (0.1 * rng.standard_normal(16000)).astype("float32")
    sf.write(tmp_path / "a16k.wav", mono, 16000)
    sf.write(tmp_path / "stereo.wav", np.stack([mono, mono], 1), 16000)
    short = (0.1 * rng.standard_normal(8000)).astype("float32")
    sf.write(tmp_path / "short.wav", short, 16000)
    paths = [str(tmp_path / f) for f in ("a16k.wav", "short.wav", "stereo.wav")]
    emb = model.encode_files(paths, batch_size=2)
    # stereo with two identical channels == the mono file
    assert torch.allclose(emb[0], emb[2], atol=1e-5)
    alone = model.encode_files([paths[1]])
    assert torch.allclose(emb[1], alone[0], atol=1e-3)


def test_bad_inputs_name_the_problem(setup, tmp_path):
    model = StyleRetriever.from_hparams(source=setup["model_dir"])
    with pytest.raises(ValueError, match="empty"):
        model.encode_text(["  "])
    with pytest.raises(FileNotFoundError, match="nowhere.wav"):
        model.encode_files([str(tmp_path / "nowhere.wav")])
    sf.write(tmp_path / "silent.wav", np.zeros(16000, "float32"), 16000)
    with pytest.raises(ValueError, match="silent.wav"):
        model.encode_files([str(tmp_path / "silent.wav")])
    with pytest.raises(FileNotFoundError, match="not_a_model"):
        StyleRetriever.from_hparams(source=str(tmp_path / "not_a_model"))


def test_cli_index_search_describe(setup, tmp_path, capsys):
    model_dir, index_dir = setup["model_dir"], str(tmp_path / "index")
    # one file per batch: scores exactly equal to encode_files
    assert (
        _run_index(
            model_dir,
            "--manifest",
            setup["manifest"],
            index_dir,
            "--batch-size",
            "1",
            "--max_batch_seconds",
            "0",
        )
        == 0
    )
    with open(os.path.join(index_dir, "index.json")) as fin:
        assert json.load(fin)["build"]["max_batch_seconds"] is None
    capsys.readouterr()
    query = "A woman whispering slowly."
    assert _run_search(model_dir, index_dir, "-k", "3", "--json", query) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert len(hits) == 3
    scores = [hit["score"] for hit in hits]
    assert scores == sorted(scores, reverse=True)
    # The scores are the model's cosine similarities.
    model = StyleRetriever.from_hparams(source=model_dir)
    text = model.encode_text([query])
    speech = model.encode_files([hits[0]["wav"]])
    assert float(text @ speech.T) == pytest.approx(scores[0], abs=1e-4)
    # A filter keeps only matching items.
    assert (
        _run_search(
            model_dir,
            index_dir,
            "-k",
            "10",
            "--json",
            "--filter",
            "phonation=whispered",
            query,
        )
        == 0
    )
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert all(h["metadata"]["phonation"] == "whispered" for h in hits)
    # Plain output shows the requested fields.
    _run_search(model_dir, index_dir, "-k", "2", "--fields", "sex,rate", query)
    out = capsys.readouterr().out
    assert "sex=" in out and "rate=" in out
    # speech -> text over the model's saved description bank
    wav = hits[0]["wav"] if hits else setup["manifest"]
    assert (
        main(["describe", "--model", model_dir, "-k", "2", "--json", wav]) == 0
    )
    ranked = json.loads(capsys.readouterr().out)
    assert len(ranked) == 2
    assert {r["description"] for r in ranked} <= set(setup["bank"])


def test_cli_rejects_empty_and_oversize_queries(setup, tmp_path, capsys):
    assert _run_search(setup["model_dir"], str(tmp_path), " ") == 2
    assert "search: error: the query is empty" in capsys.readouterr().err
    assert _run_search(setup["model_dir"], str(tmp_path), "x" * 2000) == 2
    assert "2000 characters" in capsys.readouterr().err


def test_cli_index_audio_dir_and_a_corrupt_index(setup, tmp_path, capsys):
    index_dir = str(tmp_path / "index")
    wav_dir = os.path.join(setup["corpus"], "wavs", "valid")
    assert (
        _run_index(setup["model_dir"], "--audio-dir", wav_dir, index_dir) == 0
    )
    with open(os.path.join(index_dir, "embeddings.npy"), "r+b") as fout:
        fout.seek(-4, os.SEEK_END)
        fout.write(b"\x00\x01\x02\x03")
    capsys.readouterr()
    assert _run_search(setup["model_dir"], index_dir, "someone") == 1
    assert "embeddings.npy is corrupt" in capsys.readouterr().err


def test_cli_answers_several_queries_in_one_run(setup, tmp_path, capsys):
    index_dir = str(tmp_path / "index")
    _run_index(setup["model_dir"], "--manifest", setup["manifest"], index_dir)
    capsys.readouterr()
    queries = ["A man speaking slowly.", "Someone whispering."]
    assert (
        _run_search(
            setup["model_dir"],
            index_dir,
            "-k",
            "2",
            "--json",
            "-q",
            queries[0],
            "-q",
            queries[1],
        )
        == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    answers = [json.loads(line) for line in lines]
    assert [a["query"] for a in answers] == queries
    assert all(len(a["hits"]) == 2 for a in answers)


def test_cli_synth_writes_a_corpus(tmp_path):
    out = tmp_path / "corpus"
    assert (
        main(
            [
                "synth",
                "--out",
                str(out),
                "--num-utts",
                "4",
                "--seed",
                "7",
                "--no-progress",
            ]
        )
        == 0
    )
    items = {}
    for split in ("train", "valid", "test"):
        with open(out / f"{split}.json") as fin:
            items.update(json.load(fin))
    assert len(items) == 4
    for item in items.values():
        wav = item["wav"].replace("{data_root}", str(out))
        info = sf.info(wav)
        assert info.samplerate == 16000 and info.channels == 1
        assert {"sex", "pitch", "rate", "range", "phonation"} <= set(item)


def test_cli_sharded_fp16_index_and_search_backends(setup, tmp_path, capsys):
    model_dir, index_dir = setup["model_dir"], str(tmp_path / "index")
    options = ("--batch-size", "2", "--shard_size", "3", "--fp16")
    _run_index(model_dir, "--manifest", setup["manifest"], index_dir, *options)
    with open(os.path.join(index_dir, "index.json")) as fin:
        info = json.load(fin)
    assert info["dtype"] == "float16"
    assert info["build"]["shard_size"] == 3
    assert info["build"]["max_batch_seconds"] == 8.0
    assert not os.path.exists(os.path.join(index_dir, "shards"))
    capsys.readouterr()
    query = "A woman whispering slowly."
    answers = {}
    for backend in (
        ["--backend", "exact"],
        ["--backend", "faiss-flat"],
        ["--backend", "ivf", "--nlist", "1", "--nprobe", "1"],
        ["--backend", "hnsw", "--hnsw_m", "8", "--ef_search", "16"],
    ):
        code = _run_search(
            model_dir, index_dir, "-k", "4", "--json", *backend, query
        )
        assert code == 0
        hits = json.loads(capsys.readouterr().out)["hits"]
        answers[backend[1]] = [hit["id"] for hit in hits]
    assert len(answers["exact"]) == 4
    # Every backend is exact on this small index.
    assert all(ids == answers["exact"] for ids in answers.values())
