"""Inference precision (fp32 / bf16 / int8) for indexing and search.

Tiny models of every encoder family (ECAPA-TDNN, emotion2vec, a Hugging Face
text encoder, projection heads) run at each precision; the index records the
precision and never mixes shards of two precisions; fp32 stays bitwise what
it was; the flop counter matches hand-counted FLOPs; the indexing benchmark
runs in a tiny configuration.
"""

import json
import os
import sys

import numpy as np
import pytest
import soundfile as sf
import torch
from torch import nn

from speechbrain_style.cli.main import main
from speechbrain_style.inference.export import write_inference_folder
from speechbrain_style.inference.precision import (
    check_precision,
    count_flops,
    embedding_agreement,
    matmul_flops_per_second,
    precision_context,
    prepare_for_precision,
    quantized_module_names,
)
from speechbrain_style.inference.retriever import StyleRetriever
from speechbrain_style.lobes import (
    ECAPASpeechEncoder,
    Emotion2VecEncoder,
    HFTextEncoder,
    ProjectionHead,
)
from speechbrain_style.retrieval.index import StyleIndex, build_index
from tests.tiny_models import build_tiny_emotion2vec, build_tiny_hf_text_encoder

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
SAMPLE_RATE = 16000


def _speech(seconds, seed):
    """A harmonic, amplitude-modulated test signal."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    pitch = rng.uniform(100, 220)
    wav = sum(np.sin(2 * np.pi * h * pitch * t) / h for h in range(1, 6))
    wav *= 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(2, 5) * t) ** 2
    wav = 0.1 * wav + 0.003 * rng.standard_normal(t.shape)
    return wav.astype(np.float32)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("precision_corpus")
    items = {}
    for i, seconds in enumerate([0.6, 1.2, 0.4, 0.9, 1.0, 0.5]):
        path = root / f"utt{i}.wav"
        sf.write(path, _speech(seconds, i), SAMPLE_RATE)
        items[f"utt{i}"] = {"wav": str(path), "style": "ab"[i % 2]}
    manifest = root / "items.json"
    manifest.write_text(json.dumps(items))
    return {"root": root, "items": items, "manifest": str(manifest)}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("precision_model")
    torch.manual_seed(0)
    text_dir = build_tiny_hf_text_encoder(str(root / "bert"), "bert")
    modules = {
        "speech_encoder": ECAPASpeechEncoder(
            n_mels=40, channels=[32, 32, 32, 32, 96], lin_neurons=32
        ),
        "speech_head": ProjectionHead(32, proj_size=16, num_transform_layers=1),
        "text_encoder": HFTextEncoder(text_dir, pooling="mean"),
        "text_head": ProjectionHead(32, proj_size=16, num_transform_layers=1),
    }
    for module in modules.values():
        module.eval()
    folder = str(root / "model")
    write_inference_folder(folder, modules, extra={"sample_rate": 16000})
    return folder


def _batch(seconds=(1.0, 0.7)):
    """A padded batch of test signals and their relative lengths."""
    signals = [torch.from_numpy(_speech(s, i)) for i, s in enumerate(seconds)]
    length = max(len(s) for s in signals)
    wavs = torch.zeros(len(signals), length)
    for row, signal in enumerate(signals):
        wavs[row, : len(signal)] = signal
    lens = torch.tensor([len(s) / length for s in signals])
    return wavs, lens


def _run(encoder, head, precision, wavs, lens):
    """Embeddings of ``encoder`` + ``head`` at ``precision``."""
    encoder = prepare_for_precision(encoder, precision)
    head = prepare_for_precision(head, precision)
    with torch.inference_mode(), precision_context(precision):
        return head(encoder(wavs, lens))[-1].float()


def test_int8_quantises_every_linear_layer_and_keeps_the_original(tmp_path):
    torch.manual_seed(0)
    folder = build_tiny_emotion2vec(str(tmp_path / "e2v"))
    encoder = Emotion2VecEncoder(folder, freeze=True).eval()
    linears = [
        name for name, m in encoder.named_modules() if isinstance(m, nn.Linear)
    ]
    convs = [
        name for name, m in encoder.named_modules() if isinstance(m, nn.Conv1d)
    ]
    assert linears and convs
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    quantized = prepare_for_precision(encoder, "int8")
    assert sorted(quantized_module_names(quantized)) == sorted(linears)
    modules = dict(quantized.named_modules())
    from torch.ao.nn.quantized.dynamic import Linear as Int8Linear

    for name in linears:
        assert isinstance(modules[name], Int8Linear)
        assert modules[name].weight().dtype == torch.qint8
    for name in convs:  # no dynamic int8 convolution in PyTorch
        assert type(modules[name]) is nn.Conv1d
    # The fp32 model is untouched.
    assert quantized_module_names(encoder) == []
    after = encoder.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert prepare_for_precision(encoder, "fp32") is encoder
    assert prepare_for_precision(encoder, "bf16") is encoder


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_reduced_precision_agrees_with_fp32_on_every_encoder(
    tmp_path, precision
):
    torch.manual_seed(0)
    wavs, lens = _batch()
    e2v = Emotion2VecEncoder(
        build_tiny_emotion2vec(str(tmp_path / "e2v")), freeze=True
    ).eval()
    ecapa = ECAPASpeechEncoder(
        n_mels=40, channels=[64, 64, 64, 64, 192], lin_neurons=64
    ).eval()
    for encoder in (e2v, ecapa):
        head = ProjectionHead(encoder.output_size, proj_size=32).eval()
        reference = _run(encoder, head, "fp32", wavs, lens)
        reduced = _run(encoder, head, precision, wavs, lens)
        assert not torch.equal(reduced, reference)  # it did change
        agreement = embedding_agreement(reference, reduced)
        assert agreement["min"] >= 0.99, (type(encoder).__name__, agreement)
    text_dir = build_tiny_hf_text_encoder(str(tmp_path / "bert"), "bert")
    text = HFTextEncoder(text_dir, pooling="mean").eval()
    texts = ["a woman whispering slowly", "a loud man, fast and angry"]
    with torch.inference_mode():
        reference = text(texts)
        with precision_context(precision):
            reduced = prepare_for_precision(text, precision)(texts).float()
    assert embedding_agreement(reference, reduced)["min"] >= 0.99


def test_retriever_precision_switches_and_fp32_stays_bitwise(model_dir):
    wavs, lens = _batch()
    texts = ["A man speaking slowly.", "Someone whispering."]
    model = StyleRetriever.from_hparams(source=model_dir)
    assert model.inference_precision == "fp32"
    modules = {name: model.mods[name] for name in model.mods}
    with torch.no_grad():
        feats = modules["speech_encoder"](wavs, lens)
        direct = modules["speech_head"](feats)[-1]
    fp32_speech = model.encode_audio(wavs, lens)
    fp32_text = model.encode_text(texts)
    assert torch.equal(fp32_speech, direct)
    for precision in ("int8", "bf16"):
        model.set_precision(precision)
        assert model.inference_precision == precision
        if precision == "int8":
            assert quantized_module_names(model.mods["speech_head"])
            assert quantized_module_names(model.mods["text_encoder"])
        speech = model.encode_audio(wavs, lens)
        text = model.encode_text(texts)
        assert not torch.equal(speech, fp32_speech)
        assert speech.dtype == text.dtype == torch.float32
        ones = torch.ones(len(texts))
        assert torch.allclose(speech.norm(dim=1), ones, atol=1e-5)
        assert torch.allclose(text.norm(dim=1), ones, atol=1e-5)
        assert embedding_agreement(fp32_speech, speech)["min"] >= 0.99
        assert embedding_agreement(fp32_text, text)["min"] >= 0.99
    model.set_precision("fp32")
    assert quantized_module_names(model.mods["speech_head"]) == []
    assert torch.equal(model.encode_audio(wavs, lens), fp32_speech)
    assert torch.equal(model.encode_text(texts), fp32_text)
    loaded = StyleRetriever.from_hparams(source=model_dir, precision="int8")
    assert loaded.inference_precision == "int8"
    assert loaded.fingerprint == model.fingerprint


class QuantisableEncoder(nn.Module):
    """Frame statistics -> Linear -> ReLU -> Linear; counts encoded items."""

    def __init__(self, crash_at=None):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(
            nn.Linear(40, 64), nn.ReLU(), nn.Linear(64, 16)
        )
        self.crash_at = crash_at
        self.calls = 0
        self.items = 0

    def forward(self, wavs, lens):
        """Embeds 40 frame-energy statistics of each padded waveform."""
        self.calls += 1
        if self.calls == self.crash_at:
            raise KeyboardInterrupt
        self.items += wavs.shape[0]
        frames = wavs[:, : wavs.shape[1] // 400 * 400].reshape(
            wavs.shape[0], -1, 400
        )
        valid = (
            torch.arange(frames.shape[1]) < (lens * frames.shape[1])[:, None]
        )
        energy = (frames.abs().mean(-1) * valid)[:, :40]
        feats = nn.functional.pad(energy, (0, 40 - energy.shape[1]))
        return nn.functional.normalize(self.net(feats * 10), dim=1)


def _build(encoder, items, out_dir, precision=None, **options):
    """build_index with small shards and batches, no progress bar."""
    options = {"batch_size": 1, "shard_size": 2, "progress": False, **options}
    return build_index(encoder, items, out_dir, precision=precision, **options)


def test_index_records_precision_and_fp32_plan_is_unchanged(corpus, tmp_path):
    items = corpus["items"]
    encoder = QuantisableEncoder()
    index = _build(encoder, items, tmp_path / "fp32", keep_shards=True)
    assert index.info["build"]["precision"] == "fp32"
    with open(tmp_path / "fp32" / "shards" / "plan.json") as fin:
        plan = json.load(fin)
    # fp32 plans are those of before precisions existed (same sha256, so an
    # interrupted build of an older version resumes).
    assert "precision" not in plan["options"]
    # Batches of one: the stored rows are the encoder's own outputs, bitwise,
    # after the index's own L2 normalisation (a norm of 1 - 1 ulp divides to
    # other bits on some CPUs, so the expectation goes through the same step).
    from speechbrain_style.dataio.audio import load_audio

    with torch.inference_mode():
        expected = torch.cat(
            [
                encoder(load_audio(item["wav"]).unsqueeze(0), torch.ones(1))
                for item in items.values()
            ]
        )
    expected = expected / expected.norm(dim=1)[:, None]
    assert torch.equal(index.embeddings, expected)
    again = _build(encoder, items, tmp_path / "default-fp32", precision="fp32")
    assert torch.equal(again.embeddings, index.embeddings)

    int8 = prepare_for_precision(encoder, "int8")
    index8 = _build(int8, items, tmp_path / "int8", precision="int8")
    loaded = StyleIndex.load(tmp_path / "int8")
    assert loaded.info["build"]["precision"] == "int8"
    assert not torch.equal(index8.embeddings, index.embeddings)
    assert (
        embedding_agreement(index.embeddings, index8.embeddings)["min"] > 0.99
    )


def test_resume_at_another_precision_recomputes_every_shard(corpus, tmp_path):
    items = corpus["items"]
    out_dir = tmp_path / "index"
    crashing = prepare_for_precision(QuantisableEncoder(), "int8")
    crashing.crash_at = 4
    with pytest.raises(KeyboardInterrupt):
        _build(crashing, items, out_dir, precision="int8")
    assert len(os.listdir(out_dir / "shards")) > 1  # finished int8 shards
    # The same precision reuses them (and is bitwise the uninterrupted run).
    resumed8 = prepare_for_precision(QuantisableEncoder(), "int8")
    index8 = _build(resumed8, items, out_dir, precision="int8")
    assert resumed8.items == len(items) - 2
    fresh8 = _build(
        prepare_for_precision(QuantisableEncoder(), "int8"),
        items,
        tmp_path / "fresh8",
        precision="int8",
    )
    assert torch.equal(index8.embeddings, fresh8.embeddings)

    # Interrupted at int8, resumed at fp32: nothing of int8 is mixed in.
    out_dir = tmp_path / "mixed"
    crashing = prepare_for_precision(QuantisableEncoder(), "int8")
    crashing.crash_at = 4
    with pytest.raises(KeyboardInterrupt):
        _build(crashing, items, out_dir, precision="int8")
    encoder = QuantisableEncoder()
    index = _build(encoder, items, out_dir)
    assert encoder.items == len(items)
    assert index.info["build"]["precision"] == "fp32"
    fresh = _build(QuantisableEncoder(), items, tmp_path / "fresh")
    assert torch.equal(index.embeddings, fresh.embeddings)
    # A complete index at another precision is rebuilt, not returned.
    encoder = prepare_for_precision(QuantisableEncoder(), "int8")
    rebuilt = _build(encoder, items, out_dir, precision="int8")
    assert encoder.items == len(items)
    assert torch.equal(rebuilt.embeddings, fresh8.embeddings)


def test_build_index_rejects_a_precision_the_model_does_not_run(
    model_dir, corpus, tmp_path
):
    model = StyleRetriever.from_hparams(source=model_dir, precision="int8")
    with pytest.raises(ValueError, match=r"precision='fp32'.*runs at 'int8'"):
        build_index(
            model.encode_audio,
            corpus["items"],
            tmp_path / "index",
            precision="fp32",
            progress=False,
        )
    with pytest.raises(ValueError, match="precision must be one of"):
        build_index(
            QuantisableEncoder(),
            corpus["items"],
            tmp_path / "index",
            precision="int4",
            progress=False,
        )
    # The retriever's own precision is the default.
    index = build_index(
        model.encode_audio, corpus["items"], tmp_path / "index", progress=False
    )
    assert index.info["build"]["precision"] == "int8"


def test_cli_index_search_describe_serve_take_a_precision(
    model_dir, corpus, tmp_path, capsys
):
    indexes = {}
    for precision in ("fp32", "int8"):
        out = str(tmp_path / precision)
        code = main(
            [
                "index",
                "--model",
                model_dir,
                "--manifest",
                corpus["manifest"],
                "--out",
                out,
                "--quiet",
                "--precision",
                precision,
            ]
        )
        assert code == 0
        indexes[precision] = StyleIndex.load(out)
        assert indexes[precision].info["build"]["precision"] == precision
    agreement = embedding_agreement(
        indexes["fp32"].embeddings, indexes["int8"].embeddings
    )
    assert agreement["min"] >= 0.99
    capsys.readouterr()
    hits = {}
    for precision in ("fp32", "bf16", "int8"):
        code = main(
            [
                "search",
                "--model",
                model_dir,
                "--index",
                str(tmp_path / "int8"),
                "--json",
                "-k",
                "6",
                "--precision",
                precision,
                "A woman whispering slowly.",
            ]
        )
        assert code == 0
        hits[precision] = json.loads(capsys.readouterr().out)["hits"]
    for precision in ("bf16", "int8"):
        scores = [hit["score"] for hit in hits[precision]]
        reference = {hit["id"]: hit["score"] for hit in hits["fp32"]}
        assert len(scores) == 6
        for hit in hits[precision]:
            assert abs(hit["score"] - reference[hit["id"]]) < 0.05
    bank = tmp_path / "bank.txt"
    bank.write_text("A man speaking slowly.\nSomeone whispering.\n")
    code = main(
        [
            "describe",
            "--model",
            model_dir,
            "--bank",
            str(bank),
            "--precision",
            "int8",
            "--json",
            corpus["items"]["utt0"]["wav"],
        ]
    )
    assert code == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    code = main(
        [
            "describe",
            "--model",
            model_dir,
            "--device",
            "cuda:0",
            "--precision",
            "int8",
            corpus["items"]["utt0"]["wav"],
        ]
    )
    # one line: int8 is CPU only (or, here, there is no CUDA device at all)
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1
    assert "CPU only" in err[0] or "CUDA" in err[0]
    with pytest.raises(ValueError, match="CPU only"):
        check_precision("int8", "cuda:0")
    import argparse

    from speechbrain_style.cli.serve import add_serve_arguments
    from speechbrain_style.retrieval.service import StyleSearchService

    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    args = parser.parse_args(
        ["--model", model_dir, "--index", "i", "--precision", "int8"]
    )
    assert args.precision == "int8"
    service = StyleSearchService.from_folders(
        model_dir, str(tmp_path / "int8"), precision="int8"
    )
    assert service.search("A woman whispering slowly.", k=3)["results"]


def test_flop_counter_matches_the_analytic_count():
    cin, cout, kernel, frames = 3, 8, 5, 20
    hidden, out = 16, 4

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(cin, cout, kernel, padding=kernel // 2)
            self.linear = nn.Linear(cout, hidden)
            self.out = nn.Linear(hidden, out)

        def forward(self, x):
            h = self.conv(x).transpose(1, 2)  # (B, frames, cout)
            return self.out(torch.relu(self.linear(h)))

    model = Model()
    batch = 2
    counts = count_flops(
        model, torch.randn(batch, cin, frames), linear_modules=model
    )
    conv = 2 * batch * frames * cout * cin * kernel
    linear = 2 * batch * frames * (cout * hidden + hidden * out)
    assert counts == {"total": conv + linear, "linear": linear}
    attention = count_flops(
        torch.matmul, torch.randn(batch, frames, 6), torch.randn(batch, 6, 7)
    )
    assert attention == {"total": 2 * batch * frames * 6 * 7, "linear": 0}
    peak = matmul_flops_per_second("int8", size=128, repeats=2)
    assert peak["kernel"] == "torch._int_mm" and peak["flops_per_second"] > 0


def test_index_benchmark_runs_in_a_tiny_configuration(tmp_path, capsys):
    sys.path.insert(0, REPO_ROOT)
    from benchmarks import index_benchmark

    code = index_benchmark.main(
        [
            "--encoders",
            "speech/ecapa_small,emotion2vec-tiny",
            "--num-files",
            "3",
            "--min-seconds",
            "0.5",
            "--max-seconds",
            "1",
            "--repeats",
            "1",
            "--peak-size",
            "128",
            "--workdir",
            str(tmp_path),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    for path in ("one-by-one fp32", "batched fp32", "batched bf16"):
        assert path in out
    assert "batched int8" in out
    assert "FLOPs per audio second" in out
    assert "of peak" in out
    assert out.count("| one-by-one fp32 |") == 2  # one table per encoder


def test_precision_quality_script_runs_on_a_tiny_model(tmp_path, capsys):
    from speechbrain_style.corpora.stylesynth.synth import synthesize_corpus

    sys.path.insert(0, REPO_ROOT)
    from benchmarks import precision_quality

    torch.manual_seed(0)
    text_dir = build_tiny_hf_text_encoder(str(tmp_path / "bert"), "bert")
    modules = {
        "speech_encoder": ECAPASpeechEncoder(
            n_mels=40, channels=[32, 32, 32, 32, 96], lin_neurons=32
        ),
        "speech_head": ProjectionHead(32, proj_size=16),
        "text_encoder": HFTextEncoder(text_dir, pooling="mean"),
        "text_head": ProjectionHead(32, proj_size=16),
    }
    for module in modules.values():
        module.eval()
    folder = str(tmp_path / "model")
    write_inference_folder(
        folder,
        modules,
        extra={"sample_rate": 16000, "description_bank": ["A slow voice."]},
    )
    corpus = str(tmp_path / "corpus")
    synthesize_corpus(corpus, num_utts=40, seed=3, progress=False)
    code = precision_quality.main(
        [
            "--model",
            folder,
            "--corpus",
            corpus,
            "--num-trials",
            "3",
            "--num-distractors",
            "2",
            "--workdir",
            str(tmp_path / "work"),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0] for row in rows[1:]] == [
        "| fp32",
        "| bf16",
        "| int8",
    ]
    # fp32 against itself: cosine 1, no metric difference.
    assert rows[1].split(" | ")[1:7] == [
        "1.00000",
        "1.00000",
        "1.00000",
        "1.00000",
        "0.0000",
        "0.0000",
    ]
    assert "[int8] prompt bank: heldout" in out
