"""Bad input through the real command line: one clean line, never a traceback.

Every case of ``CASES`` (one test each) builds one bad input in its own
``tmp_path`` (a broken wav, manifest, index, model folder, query, option or
server address), runs ``speechbrain_style.cli.main(argv)`` in-process and
expects

* the exit status of the case (2: usage error, 1: unusable input);
* nothing on stdout and no traceback on stderr;
* exactly one error line, the last one on stderr, of the form
  ``speechbrain-style <command>: error: <message>``, that names the
  offending file, field or value, and that is not the "unexpected" line of
  an unanticipated exception.

A few cases then run the real entry point in a subprocess (exit statuses,
``--debug`` and ``SPEECHBRAIN_STYLE_DEBUG``), and the remaining tests cover
the gaps fixed with this table: ``--audio-dir`` reports what it skips and
indexes MP3, an item too short for the encoder is skipped with
``--on-error skip``, and the same filter keeps the same items through
``search --filter`` and through the search service's JSON API.

The tiny model (a small ECAPA-TDNN and a 2-layer BERT with a tokenizer
trained on the fly, as in test_inference_cli.py) and two indexes are built
once for the module.
"""

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import soundfile as sf
import torch

from speechbrain_style.cli import main
from speechbrain_style.inference.export import write_inference_folder
from speechbrain_style.lobes import (
    ECAPASpeechEncoder,
    HFTextEncoder,
    ProjectionHead,
)
from speechbrain_style.retrieval.filters import parse_condition
from speechbrain_style.retrieval.service import StyleSearchService
from tests.tiny_models import build_tiny_hf_text_encoder

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
SUBCOMMANDS = ("synth", "index", "search", "describe", "serve")
# Metadata of the indexed items: strings, ints, floats, booleans, and a field
# whose values are numbers for some items and strings for others.
METADATA = {
    "f_slow": {"sex": "female", "spk": 1, "loud": False, "grade": 7},
    "f_fast": {"sex": "female", "spk": 2, "loud": True, "grade": "7"},
    "m_slow": {"sex": "male", "spk": 3, "loud": False, "grade": 8},
    "m_fast": {"sex": "male", "spk": 1, "loud": True, "grade": "08"},
    "m_calm": {"sex": "male", "spk": 2, "loud": False, "grade": 7.0},
}
SECONDS = {"f_slow": 0.9, "f_fast": 0.6, "m_slow": 1.2, "m_fast": 0.5}
SECONDS["m_calm"] = 0.75


def _signal(seconds, freq, seed, rate=16000):
    """A tone with a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * rate))) / rate
    wave = 0.3 * np.sin(2 * np.pi * freq * t) + 0.02 * rng.standard_normal(
        t.shape
    )
    return wave.astype("float32")


def _write_model(folder, text_dir, proj_size, bank):
    """A tiny inference folder; ``bank`` None writes no description bank."""
    modules = {
        "speech_encoder": ECAPASpeechEncoder(
            n_mels=40, channels=[16, 16, 16, 16, 48], lin_neurons=16
        ),
        "speech_head": ProjectionHead(
            16, proj_size=proj_size, num_transform_layers=1
        ),
        "text_encoder": HFTextEncoder(text_dir, pooling="mean"),
        "text_head": ProjectionHead(
            32, proj_size=proj_size, num_transform_layers=1
        ),
    }
    for module in modules.values():
        module.eval()
    extra = {"sample_rate": 16000}
    if bank is not None:
        extra["description_bank"] = bank
    write_inference_folder(str(folder), modules, extra=extra)
    return str(folder)


def build_context(root):
    """The models, audio, manifest and indexes the cases start from."""
    torch.manual_seed(0)
    text_dir = build_tiny_hf_text_encoder(str(root / "bert"), "bert")
    bank = ["A man speaking slowly.", "Someone whispering.", "A high voice."]
    model = _write_model(root / "model", text_dir, 8, bank)
    model4 = _write_model(root / "model4", text_dir, 4, None)
    audio = root / "audio"
    audio.mkdir()
    items = {}
    for i, (item_id, seconds) in enumerate(SECONDS.items()):
        path = audio / f"{item_id}.wav"
        sf.write(path, _signal(seconds, 150 + 60 * i, i), 16000)
        items[item_id] = {
            "wav": "{data_root}/audio/" + f"{item_id}.wav",
            "duration": seconds,
            **METADATA[item_id],
        }
    manifest = root / "items.json"
    manifest.write_text(json.dumps(items))
    indexes = {}
    for name, model_dir in [("index", model), ("index4", model4)]:
        indexes[name] = str(root / name)
        code = main(
            ["index", "--model", model_dir, "--manifest", str(manifest)]
            + ["--out", indexes[name], "--quiet"]
        )
        assert code == 0
    return {
        "root": root,
        "model": model,
        "model4": model4,
        "audio": audio,
        "good_wav": str(audio / "f_slow.wav"),
        "manifest": str(manifest),
        "sockets": [],
        **indexes,
    }


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    context = build_context(tmp_path_factory.mktemp("cli_bad_input"))
    yield context
    for sock in context["sockets"]:
        sock.close()


def _invoke(argv, capsys):
    """Runs the CLI in-process: (exit status, stdout, stderr)."""
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _is_progress(line):
    """A progress-bar line (tqdm of transformers or of the index)."""
    return "it/s]" in line or "s/it]" in line or "%|" in line


def _error_line(argv, err):
    """The single error line of ``err``; fails on a traceback or several."""
    assert "Traceback" not in err, err
    lines = [
        line
        for line in err.splitlines()
        if line.strip() and not _is_progress(line)
    ]
    errors = [line for line in lines if ": error: " in line]
    assert len(errors) == 1, err
    assert lines[-1] == errors[0], err
    command = next((a for a in map(str, argv) if a in SUBCOMMANDS), None)
    prefix = "speechbrain-style" + (f" {command}" if command else "")
    assert errors[0].startswith(prefix + ": error: "), errors[0]
    assert "unexpected" not in errors[0], errors[0]
    return errors[0]


# --- the table ------------------------------------------------------------
CASES = []


SERVE_EXTRA_MISSING = any(
    importlib.util.find_spec(name) is None for name in ("fastapi", "uvicorn")
)


def case(case_id, code, serve=False):
    """Registers ``make(ctx, tmp) -> (argv, names)`` as one bad-input case.

    ``names`` are strings the error line must contain (the file, field or
    value at fault); ``code`` is the expected exit status. A ``serve`` case
    gets past the command line, so it needs the ``serve`` extra.
    """
    marks = pytest.mark.skipif(
        serve and SERVE_EXTRA_MISSING,
        reason='pip install "speechbrain-style[serve]"',
    )

    def register(make):
        CASES.append(pytest.param(make, code, id=case_id, marks=marks))
        return make

    return register


def _index(ctx, source, tmp, *options, option="--manifest"):
    return [
        "index",
        "--model",
        ctx["model"],
        option,
        source,
        "--out",
        tmp / "index",
        "--quiet",
        *options,
    ]


def _index_items(ctx, tmp, items, *options):
    """``index`` over a manifest of ``items`` (written as JSON)."""
    manifest = tmp / "items.json"
    manifest.write_text(json.dumps(items))
    return _index(ctx, manifest, tmp, *options)


def _index_wav(ctx, tmp, path, **fields):
    """``index`` over a good item and a bad one whose wav is ``path``."""
    items = {
        "good": {"wav": ctx["good_wav"]},
        "bad": {"wav": str(path), **fields},
    }
    return _index_items(ctx, tmp, items)


def _search(ctx, *arguments, index=None, model=None):
    return [
        "search",
        "--model",
        model or ctx["model"],
        "--index",
        index or ctx["index"],
        *arguments,
    ]


def _describe(ctx, path, *arguments, model=None):
    return ["describe", "--model", model or ctx["model"], *arguments, path]


def _serve(ctx, *arguments, index=None, model=None):
    return [
        "serve",
        "--model",
        model or ctx["model"],
        "--index",
        index or ctx["index"],
        *arguments,
    ]


def _copy_index(ctx, tmp, name="index"):
    copy = tmp / "copy"
    shutil.copytree(ctx[name], copy)
    return copy


# Bad audio files, as (file name, writer). Each is used through a manifest
# (index) and through describe.
def _write_zero_bytes(path):
    path.write_bytes(b"")


def _write_no_samples(path):
    sf.write(path, np.zeros(0, "float32"), 16000)


def _write_silent(path):
    sf.write(path, np.zeros(16000, "float32"), 16000)


def _write_nan(path):
    data = np.full(16000, 0.1, "float32")
    data[100] = np.nan
    sf.write(path, data, 16000, subtype="FLOAT")


def _write_truncated_header(path):
    sf.write(path, _signal(0.5, 200, 0), 16000)
    path.write_bytes(path.read_bytes()[:20])


def _write_garbage(path):
    path.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(range(200)))


def _write_text(path):
    path.write_text("this is a text file, not audio\n")


def _write_too_short(path):
    sf.write(path, _signal(10 / 16000, 200, 0), 16000)


BAD_AUDIO = {
    "zero-bytes": ("zero.wav", _write_zero_bytes, "zero.wav"),
    "no-samples": ("empty.wav", _write_no_samples, "empty"),
    "silent": ("silent.wav", _write_silent, "silent"),
    "nan-samples": ("nan.wav", _write_nan, "NaN"),
    "truncated-header": ("cut.wav", _write_truncated_header, "cut.wav"),
    "corrupt-bytes": ("corrupt.wav", _write_garbage, "corrupt.wav"),
    "text-named-wav": ("text.wav", _write_text, "text.wav"),
    "wrong-extension-text": ("notes.txt", _write_text, "notes.txt"),
    "too-short-for-encoder": ("short.wav", _write_too_short, "short"),
}


def _bad_audio_case(command, key):
    name, write, expected = BAD_AUDIO[key]

    @case(f"{command}-wav-{key}", 1)
    def make(ctx, tmp):
        path = tmp / name
        write(path)
        if command == "index":
            if key == "too-short-for-encoder":  # alone in its batch
                items = {"short": {"wav": str(path)}}
                return _index_items(ctx, tmp, items), ["'short'", expected]
            return _index_wav(ctx, tmp, path), ["'bad'", expected]
        return _describe(ctx, path), [expected]

    return make


for _command in ("index", "describe"):
    for _key in BAD_AUDIO:
        _bad_audio_case(_command, _key)

    @case(f"{_command}-wav-missing", 1)
    def _missing_wav(ctx, tmp, command=_command):
        path = tmp / "missing.wav"
        if command == "index":
            return _index_wav(ctx, tmp, path), ["missing.wav", "not found"]
        return _describe(ctx, path), ["missing.wav", "not found"]

    @case(f"{_command}-wav-is-a-directory", 1)
    def _directory_wav(ctx, tmp, command=_command):
        path = tmp / "folder.wav"
        path.mkdir()
        if command == "index":
            return _index_wav(ctx, tmp, path), ["folder.wav", "directory"]
        return _describe(ctx, path), ["folder.wav", "directory"]

    @case(f"{_command}-wav-dangling-symlink", 1)
    def _dangling_wav(ctx, tmp, command=_command):
        path = tmp / "link.wav"
        path.symlink_to(tmp / "gone.wav")
        names = ["link.wav", "dangling symbolic link", "gone.wav"]
        if command == "index":
            return _index_wav(ctx, tmp, path), names
        return _describe(ctx, path), names


@case("index-wav-unreadable-permissions", 1)
def _unreadable_wav(ctx, tmp):
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their permissions")
    path = tmp / "locked.wav"
    sf.write(path, _signal(0.5, 200, 0), 16000)
    path.chmod(0)
    return _index_wav(ctx, tmp, path), ["locked.wav"]


@case("index-segment-after-the-end", 1)
def _segment_after_end(ctx, tmp):
    return _index_wav(ctx, tmp, ctx["good_wav"], start=50.0, stop=51.0), [
        "'bad'",
        "empty",
    ]


@case("index-segment-stop-before-start", 1)
def _segment_reversed(ctx, tmp):
    return _index_wav(ctx, tmp, ctx["good_wav"], start=0.5, stop=0.2), [
        "'bad'",
        "stop must be > start",
    ]


@case("index-segment-start-not-a-number", 1)
def _segment_text(ctx, tmp):
    return _index_wav(ctx, tmp, ctx["good_wav"], start="soon"), [
        "'bad'",
        "'start'",
        "soon",
    ]


@case("index-duration-not-a-number", 1)
def _duration_text(ctx, tmp):
    return _index_wav(ctx, tmp, ctx["good_wav"], duration="long"), [
        "'bad'",
        "long",
    ]


@case("index-every-item-bad-with-skip", 1)
def _all_bad(ctx, tmp):
    items = {"a": {"wav": str(tmp / "a.wav")}, "b": {"wav": str(tmp / "b")}}
    argv = _index_items(ctx, tmp, items, "--on-error", "skip")
    return argv, ["No item could be encoded", "2 skipped"]


# Manifests.
@case("manifest-missing", 1)
def _manifest_missing(ctx, tmp):
    return _index(ctx, tmp / "nope.json", tmp), ["nope.json", "not found"]


@case("manifest-is-a-directory", 1)
def _manifest_directory(ctx, tmp):
    (tmp / "dir.json").mkdir()
    return _index(ctx, tmp / "dir.json", tmp), ["dir.json", "directory"]


@case("manifest-empty-file", 1)
def _manifest_empty_file(ctx, tmp):
    (tmp / "m.json").write_bytes(b"")
    return _index(ctx, tmp / "m.json", tmp), ["m.json", "not valid JSON"]


@case("manifest-not-json", 1)
def _manifest_not_json(ctx, tmp):
    (tmp / "m.json").write_text('{"a": {"wav": "a.wav"},,}')
    return _index(ctx, tmp / "m.json", tmp), ["m.json", "not valid JSON"]


@case("manifest-not-utf8", 1)
def _manifest_latin1(ctx, tmp):
    text = '{"caf\u00e9": {"wav": "a.wav"}}'
    (tmp / "m.json").write_bytes(text.encode("latin-1"))
    return _index(ctx, tmp / "m.json", tmp), ["m.json", "not UTF-8", "0xe9"]


@case("manifest-a-list", 1)
def _manifest_list(ctx, tmp):
    (tmp / "m.json").write_text(json.dumps([{"wav": "a.wav"}]))
    return _index(ctx, tmp / "m.json", tmp), ["m.json", "got a list"]


@case("manifest-item-not-a-dict", 1)
def _manifest_item_str(ctx, tmp):
    items = {"good": {"wav": ctx["good_wav"]}, "odd": "a.wav"}
    return _index_items(ctx, tmp, items), ["'odd'", "not a dict"]


@case("manifest-item-without-wav", 1)
def _manifest_no_wav(ctx, tmp):
    items = {"good": {"wav": ctx["good_wav"]}, "nowav": {"spk": 1}}
    return _index_items(ctx, tmp, items), ["'nowav'", "missing 'wav'"]


@case("manifest-wav-null", 1)
def _manifest_wav_null(ctx, tmp):
    items = {"good": {"wav": ctx["good_wav"]}, "nul": {"wav": None}}
    return _index_items(ctx, tmp, items), ["'nul'", "'wav'", "null"]


@case("manifest-wav-a-number", 1)
def _manifest_wav_number(ctx, tmp):
    items = {"good": {"wav": ctx["good_wav"]}, "num": {"wav": 12}}
    return _index_items(ctx, tmp, items), ["'num'", "'wav'", "12"]


@case("manifest-wav-a-list", 1)
def _manifest_wav_list(ctx, tmp):
    items = {"good": {"wav": ctx["good_wav"]}, "lst": {"wav": ["a.wav"]}}
    return _index_items(ctx, tmp, items), ["'lst'", "'wav'", "a.wav"]


@case("manifest-wav-empty-string", 1)
def _manifest_wav_empty(ctx, tmp):
    items = {"good": {"wav": ctx["good_wav"]}, "blank": {"wav": ""}}
    return _index_items(ctx, tmp, items), ["'blank'", "'wav'"]


@case("manifest-unknown-placeholder", 1)
def _manifest_placeholder(ctx, tmp):
    items = {"ph": {"wav": "{corpus_root}/a.wav"}}
    return _index_items(ctx, tmp, items), ["'ph'", "{corpus_root}/a.wav"]


@case("manifest-no-items", 1)
def _manifest_empty(ctx, tmp):
    return _index_items(ctx, tmp, {}), ["items.json", "no items"]


@case("manifest-duplicate-ids", 1)
def _manifest_duplicates(ctx, tmp):
    wav = json.dumps(ctx["good_wav"])
    (tmp / "m.json").write_text(
        f'{{"u1": {{"wav": {wav}}}, "u1": {{"wav": {wav}}}}}'
    )
    return _index(ctx, tmp / "m.json", tmp), ["m.json", "'u1'", "more than"]


@case("manifest-duplicate-field", 1)
def _manifest_duplicate_field(ctx, tmp):
    wav = json.dumps(ctx["good_wav"])
    (tmp / "m.json").write_text(f'{{"u1": {{"wav": {wav}, "wav": "b.wav"}}}}')
    return _index(ctx, tmp / "m.json", tmp), ["m.json", "'wav'", "more than"]


@case("manifest-replace-without-equals", 2)
def _replace_syntax(ctx, tmp):
    argv = _index(ctx, ctx["manifest"], tmp, "--replace", "data_root")
    return argv, ["--replace", "'data_root'"]


# --audio-dir.
@case("audio-dir-missing", 1)
def _audio_dir_missing(ctx, tmp):
    argv = _index(ctx, tmp / "nowhere", tmp, option="--audio-dir")
    return argv, ["nowhere", "not found"]


@case("audio-dir-is-a-file", 1)
def _audio_dir_file(ctx, tmp):
    argv = _index(ctx, ctx["good_wav"], tmp, option="--audio-dir")
    return argv, ["f_slow.wav", "not found"]


@case("audio-dir-empty", 1)
def _audio_dir_empty(ctx, tmp):
    (tmp / "empty").mkdir()
    argv = _index(ctx, tmp / "empty", tmp, option="--audio-dir")
    return argv, ["No audio file found", "empty"]


@case("audio-dir-without-audio", 1)
def _audio_dir_no_audio(ctx, tmp):
    folder = tmp / "docs"
    folder.mkdir()
    (folder / "readme.txt").write_text("hello")
    (folder / "talk.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A ")
    (folder / "gone.wav").symlink_to(tmp / "gone.wav")
    argv = _index(ctx, folder, tmp, option="--audio-dir")
    return argv, ["No audio file found", "skipped 3", "readme.txt", "talk.m4a"]


@case("audio-dir-corrupt-wav", 1)
def _audio_dir_corrupt(ctx, tmp):
    folder = tmp / "wavs"
    folder.mkdir()
    shutil.copy(ctx["good_wav"], folder / "good.wav")
    _write_garbage(folder / "broken.wav")
    argv = _index(ctx, folder, tmp, option="--audio-dir")
    return argv, ["'broken'", "broken.wav"]


@case("audio-dir-two-files-one-id", 1)
def _audio_dir_same_id(ctx, tmp):
    folder = tmp / "wavs"
    folder.mkdir()
    shutil.copy(ctx["good_wav"], folder / "a.wav")
    sf.write(folder / "a.flac", _signal(0.5, 300, 1), 16000)
    argv = _index(ctx, folder, tmp, option="--audio-dir")
    return argv, ["'a'", "a.wav", "a.flac"]


# index options.
@case("index-batch-size-0", 2)
def _batch_size_0(ctx, tmp):
    argv = _index(ctx, ctx["manifest"], tmp, "--batch-size", "0")
    return argv, ["--batch-size", "'0'"]


@case("index-shard-size-0", 2)
def _shard_size_0(ctx, tmp):
    argv = _index(ctx, ctx["manifest"], tmp, "--shard_size", "0")
    return argv, ["--shard_size", "'0'"]


@case("index-shard-size-not-an-int", 2)
def _shard_size_text(ctx, tmp):
    argv = _index(ctx, ctx["manifest"], tmp, "--shard_size", "many")
    return argv, ["--shard_size", "'many'"]


@case("index-max-batch-seconds-negative", 2)
def _max_batch_negative(ctx, tmp):
    argv = _index(ctx, ctx["manifest"], tmp, "--max_batch_seconds", "-1")
    return argv, ["--max_batch_seconds", "'-1'"]


@case("index-on-error-unknown", 2)
def _on_error_unknown(ctx, tmp):
    argv = _index(ctx, ctx["manifest"], tmp, "--on-error", "ignore")
    return argv, ["--on-error", "'ignore'"]


@case("index-out-is-a-file", 1)
def _out_file(ctx, tmp):
    argv = _index(ctx, ctx["manifest"], tmp)
    (tmp / "index").write_text("not a folder")
    return argv, ["--out", "index", "is a file"]


@case("index-no-source", 2)
def _no_source(ctx, tmp):
    argv = ["index", "--model", ctx["model"], "--out", tmp / "index"]
    return argv, ["--manifest", "--audio-dir", "required"]


@case("index-two-sources", 2)
def _two_sources(ctx, tmp):
    argv = _index(ctx, ctx["manifest"], tmp, "--audio-dir", ctx["audio"])
    return argv, ["--audio-dir", "not allowed with"]


# Model folders and devices.
@case("model-missing", 1)
def _model_missing(ctx, tmp):
    return _search(ctx, "calm", model=tmp / "nomodel"), ["nomodel"]


@case("model-is-a-file", 1)
def _model_file(ctx, tmp):
    return _search(ctx, "calm", model=ctx["manifest"]), ["items.json", "file"]


@case("model-folder-not-a-model", 1)
def _model_empty(ctx, tmp):
    (tmp / "empty").mkdir()
    argv = _search(ctx, "calm", model=tmp / "empty")
    return argv, ["empty", "hyperparams.yaml"]


@case("model-corrupt-hyperparams", 1)
def _model_bad_yaml(ctx, tmp):
    folder = tmp / "model"
    shutil.copytree(ctx["model"], folder)
    (folder / "hyperparams.yaml").write_text("speech_encoder: !new:x.Y\n a: [")
    return _search(ctx, "calm", model=folder), [str(folder), "hyperparams"]


@case("model-checkpoint-missing", 1)
def _model_no_ckpt(ctx, tmp):
    folder = tmp / "model"
    shutil.copytree(ctx["model"], folder)
    os.remove(folder / "speech_head.ckpt")
    return _search(ctx, "calm", model=folder), [str(folder), "speech_head"]


@case("describe-model-without-bank", 1)
def _model_no_bank(ctx, tmp):
    argv = _describe(ctx, ctx["good_wav"], model=ctx["model4"])
    return argv, ["descriptions.txt", "description bank"]


@case("device-not-a-device", 2)
def _device_bad(ctx, tmp):
    return _search(ctx, "calm", "--device", "gpu7"), ["--device", "'gpu7'"]


@case("device-cuda-unavailable", 1)
def _device_cuda(ctx, tmp):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    return _search(ctx, "calm", "--device", "cuda:0"), ["cuda:0", "CUDA"]


# Queries and search options.
@case("query-missing", 2)
def _query_missing(ctx, tmp):
    return _search(ctx), ["give a query"]


@case("query-empty", 2)
def _query_empty(ctx, tmp):
    return _search(ctx, ""), ["query is empty"]


@case("query-whitespace-only", 2)
def _query_blank(ctx, tmp):
    return _search(ctx, " \t\n "), ["query is empty"]


@case("query-too-long", 2)
def _query_long(ctx, tmp):
    return _search(ctx, "slow " * 300), ["1499 characters", "1000"]


@case("query-option-empty", 2)
def _query_option_empty(ctx, tmp):
    return _search(ctx, "-q", "calm", "-q", "  "), ["query is empty"]


for _value in ("0", "-1", "ten", "2.5", ""):

    @case(f"k-{_value or 'empty'}", 2)
    def _bad_k(ctx, tmp, value=_value):
        return _search(ctx, "-k", value, "calm"), ["-k", repr(value)]

    @case(f"describe-k-{_value or 'empty'}", 2)
    def _bad_describe_k(ctx, tmp, value=_value):
        return _describe(ctx, ctx["good_wav"], "-k", value), ["-k"]


@case("fields-empty-name", 2)
def _fields_empty(ctx, tmp):
    return _search(ctx, "--fields", "sex,,spk", "calm"), ["--fields", "empty"]


@case("fields-unknown", 1)
def _fields_unknown(ctx, tmp):
    argv = _search(ctx, "--fields", "sex,mood", "calm")
    return argv, ["--fields", "'mood'", "known fields", "'sex'"]


for _spec, _names in [
    ("sex", ["'sex'", "FIELD=VALUE"]),
    ("=male", ["'=male'", "FIELD=VALUE"]),
    ("sex=", ["'sex='", "no value"]),
    ("spk>many", ["spk>many", "not a number"]),
    ("spk<=", ["'spk<='", "no value"]),
    ('sex="\\q"', ["sex=", "quoted"]),
]:

    @case(f"filter-syntax-{_spec}", 2)
    def _filter_syntax(ctx, tmp, spec=_spec, names=tuple(_names)):
        return _search(ctx, "--filter", spec, "calm"), ["--filter", *names]


@case("filter-unknown-field", 1)
def _filter_unknown(ctx, tmp):
    argv = _search(ctx, "--filter", "mood=sad", "calm")
    return argv, ["'mood'", "known fields", "'sex'"]


for _value in ("0", "-3", "many"):

    @case(f"fusion-{_value}", 2)
    def _bad_fusion(ctx, tmp, value=_value):
        return _search(ctx, "--fusion", value, "calm"), ["--fusion", value]


@case("backend-unknown", 2)
def _backend_unknown(ctx, tmp):
    argv = _search(ctx, "--backend", "annoy", "calm")
    return argv, ["--backend", "'annoy'"]


for _flag in ("--nlist", "--nprobe", "--hnsw_m", "--ef_search"):

    @case(f"backend-option{_flag.replace('--', '-')}-0", 2)
    def _backend_option(ctx, tmp, flag=_flag):
        argv = _search(ctx, "--backend", "ivf", flag, "0", "calm")
        return argv, [flag, "'0'"]


# Indexes.
@case("index-dir-missing", 1)
def _index_missing(ctx, tmp):
    return _search(ctx, "calm", index=tmp / "noindex"), ["noindex"]


@case("index-dir-is-a-file", 1)
def _index_file(ctx, tmp):
    argv = _search(ctx, "calm", index=ctx["manifest"])
    return argv, ["items.json", "is a file"]


@case("index-dir-not-an-index", 1)
def _index_empty(ctx, tmp):
    (tmp / "folder").mkdir()
    argv = _search(ctx, "calm", index=tmp / "folder")
    return argv, ["index.json", "not an index"]


@case("index-embeddings-truncated", 1)
def _index_truncated(ctx, tmp):
    copy = _copy_index(ctx, tmp)
    data = (copy / "embeddings.npy").read_bytes()
    (copy / "embeddings.npy").write_bytes(data[: len(data) // 2])
    argv = _search(ctx, "calm", index=copy)
    return argv, ["embeddings.npy", "corrupt"]


@case("index-embeddings-missing", 1)
def _index_no_embeddings(ctx, tmp):
    copy = _copy_index(ctx, tmp)
    os.remove(copy / "embeddings.npy")
    return _search(ctx, "calm", index=copy), ["embeddings.npy", "not found"]


@case("index-items-modified", 1)
def _index_items_modified(ctx, tmp):
    copy = _copy_index(ctx, tmp)
    (copy / "items.json").write_text("[]")
    return _search(ctx, "calm", index=copy), ["items.json", "corrupt"]


@case("index-json-corrupt", 1)
def _index_json_corrupt(ctx, tmp):
    copy = _copy_index(ctx, tmp)
    text = (copy / "index.json").read_text()
    (copy / "index.json").write_text(text[: len(text) // 2])
    return _search(ctx, "calm", index=copy), ["index.json", "not valid JSON"]


@case("index-json-not-utf8", 1)
def _index_json_latin1(ctx, tmp):
    copy = _copy_index(ctx, tmp)
    (copy / "index.json").write_bytes(b'{"note": "caf\xe9"}')
    return _search(ctx, "calm", index=copy), ["index.json", "UTF-8"]


@case("index-json-not-a-description", 1)
def _index_json_list(ctx, tmp):
    copy = _copy_index(ctx, tmp)
    (copy / "index.json").write_text("[1, 2]")
    argv = _search(ctx, "calm", index=copy)
    return argv, ["index.json", "not an index description"]


@case("index-json-future-version", 1)
def _index_json_version(ctx, tmp):
    copy = _copy_index(ctx, tmp)
    info = json.loads((copy / "index.json").read_text())
    info["format_version"] = 99
    (copy / "index.json").write_text(json.dumps(info))
    return _search(ctx, "calm", index=copy), ["index.json", "version 99"]


def _fingerprint(index_dir):
    with open(os.path.join(index_dir, "index.json")) as fin:
        return json.load(fin)["model_info"]["fingerprint"]


@case("index-of-another-model", 1)
def _index_other_model(ctx, tmp):
    copy = _copy_index(ctx, tmp)
    info = json.loads((copy / "index.json").read_text())
    real = info["model_info"]["fingerprint"]
    info["model_info"]["fingerprint"] = "0123456789abcdef"
    (copy / "index.json").write_text(json.dumps(info))
    argv = _search(ctx, "calm", index=copy)
    return argv, [real, "0123456789abcdef", "did not build", str(copy)]


@case("index-of-another-dimension", 1)
def _index_other_dim(ctx, tmp):
    argv = _search(ctx, "calm", index=ctx["index4"])
    names = [_fingerprint(ctx["index"]), _fingerprint(ctx["index4"])]
    return argv, [*names, ctx["model4"], "did not build"]


@case("index-dimension-edited", 1)
def _index_dim_edited(ctx, tmp):
    copy = _copy_index(ctx, tmp, "index4")
    info = json.loads((copy / "index.json").read_text())
    info["model_info"]["fingerprint"] = _fingerprint(ctx["index"])
    (copy / "index.json").write_text(json.dumps(info))
    argv = _search(ctx, "calm", index=copy)
    return argv, ["4-dimensional", "8 were expected"]


# describe's description bank.
@case("describe-bank-missing", 1)
def _bank_missing(ctx, tmp):
    argv = _describe(ctx, ctx["good_wav"], "--bank", tmp / "bank.txt")
    return argv, ["bank.txt", "not found"]


@case("describe-bank-empty", 1)
def _bank_empty(ctx, tmp):
    (tmp / "bank.txt").write_text("\n  \n")
    argv = _describe(ctx, ctx["good_wav"], "--bank", tmp / "bank.txt")
    return argv, ["bank.txt", "empty"]


@case("describe-bank-not-utf8", 1)
def _bank_latin1(ctx, tmp):
    (tmp / "bank.txt").write_bytes("A caf\u00e9 voice.\n".encode("latin-1"))
    argv = _describe(ctx, ctx["good_wav"], "--bank", tmp / "bank.txt")
    return argv, ["bank.txt", "UTF-8"]


@case("describe-bank-is-a-directory", 1)
def _bank_directory(ctx, tmp):
    (tmp / "bank").mkdir()
    argv = _describe(ctx, ctx["good_wav"], "--bank", tmp / "bank")
    return argv, ["bank", "directory"]


# serve.
for _port in ("-1", "65536", "http", ""):

    @case(f"serve-port-{_port or 'empty'}", 2)
    def _serve_port(ctx, tmp, port=_port):
        return _serve(ctx, "--port", port), ["--port", repr(port)]


@case("serve-port-in-use", 1, serve=True)
def _serve_port_busy(ctx, tmp):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    ctx["sockets"].append(sock)
    port = sock.getsockname()[1]
    return _serve(ctx, "--port", port), [f"127.0.0.1:{port}", "in use"]


for _host in ("local host", "", "300.1.2.3", "a..b"):

    @case(f"serve-host-{_host or 'empty'}", 2)
    def _serve_host(ctx, tmp, host=_host):
        return _serve(ctx, "--host", host, "--port", "0"), ["--host"]


@case("serve-max-k-0", 2)
def _serve_max_k(ctx, tmp):
    return _serve(ctx, "--max-k", "0"), ["--max-k", "'0'"]


@case("serve-index-missing", 1, serve=True)
def _serve_no_index(ctx, tmp):
    argv = _serve(ctx, "--port", "0", index=tmp / "noindex")
    return argv, ["noindex"]


@case("serve-index-corrupt", 1, serve=True)
def _serve_corrupt(ctx, tmp):
    copy = _copy_index(ctx, tmp)
    (copy / "items.json").write_text("[]")
    argv = _serve(ctx, "--port", "0", index=copy)
    return argv, ["items.json", "corrupt"]


@case("serve-model-missing", 1, serve=True)
def _serve_no_model(ctx, tmp):
    return _serve(ctx, "--port", "0", model=tmp / "nomodel"), ["nomodel"]


@case("serve-index-of-another-model", 1, serve=True)
def _serve_mismatch(ctx, tmp):
    argv = _serve(ctx, "--port", "0", model=ctx["model4"])
    names = [_fingerprint(ctx["index"]), _fingerprint(ctx["index4"])]
    return argv, [*names, "did not build"]


# synth and the command line itself.
@case("synth-too-few-utterances", 1)
def _synth_few(ctx, tmp):
    argv = ["synth", "--out", tmp / "corpus", "--num-utts", "0"]
    return argv, ["num_utts=0"]


@case("synth-sentences-missing", 1)
def _synth_sentences(ctx, tmp):
    argv = ["synth", "--out", tmp / "corpus", "--num-utts", "3"]
    return argv + ["--sentences", tmp / "s.txt"], ["s.txt"]


@case("no-subcommand", 2)
def _no_command(ctx, tmp):
    return [], ["required", "command"]


@case("unknown-subcommand", 2)
def _unknown_command(ctx, tmp):
    return ["find", "calm"], ["'find'"]


@case("unknown-option", 2)
def _unknown_option(ctx, tmp):
    return _search(ctx, "--colour", "calm"), ["--colour"]


@pytest.mark.parametrize("make, code", CASES)
def test_bad_input_gives_one_clean_error_line(
    ctx, tmp_path, capsys, make, code
):
    argv, names = make(ctx, tmp_path)
    status, out, err = _invoke(argv, capsys)
    line = _error_line(argv, err)
    assert status == code, line
    assert out == "", out
    for name in names:
        assert str(name) in line, (name, line)


# --- the real entry point -------------------------------------------------
def _run_entry_point(argv, env=None, console_script=False):
    """Runs the CLI in a subprocess: (exit status, stdout, stderr)."""
    if console_script:
        command = [
            os.path.join(os.path.dirname(sys.executable), "speechbrain-style")
        ]
    else:
        command = [sys.executable, "-m", "speechbrain_style.cli"]
    environment = dict(os.environ)
    environment.pop("SPEECHBRAIN_STYLE_DEBUG", None)
    environment["PYTHONPATH"] = (
        REPO_ROOT + os.pathsep + environment.get("PYTHONPATH", "")
    )
    environment.update(env or {})
    result = subprocess.run(
        command + [str(arg) for arg in argv],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize(
    "make, code",
    [
        pytest.param(_manifest_latin1, 1, id="data-error"),
        pytest.param(
            lambda ctx, tmp: (_search(ctx, "-k", "0", "calm"), ["-k"]),
            2,
            id="usage-error",
        ),
    ],
)
def test_entry_point_exit_status_and_one_line(ctx, tmp_path, make, code):
    argv, names = make(ctx, tmp_path)
    status, out, err = _run_entry_point(argv)
    line = _error_line(argv, err)
    assert status == code, err
    assert out == ""
    for name in names:
        assert str(name) in line


def test_console_script_exit_status(ctx, tmp_path):
    script = os.path.join(os.path.dirname(sys.executable), "speechbrain-style")
    if not os.path.isfile(script):
        pytest.skip(f"no console script next to {sys.executable}")
    argv, names = _model_missing(ctx, tmp_path)
    status, _, err = _run_entry_point(argv, console_script=True)
    assert status == 1
    assert "nomodel" in _error_line(argv, err)


def test_debug_environment_variable_shows_the_traceback(ctx, tmp_path):
    argv, _ = _model_missing(ctx, tmp_path)
    status, _, err = _run_entry_point(
        argv, env={"SPEECHBRAIN_STYLE_DEBUG": "1"}
    )
    assert status == 1
    assert "Traceback (most recent call last)" in err
    assert "CommandError: Model folder" in err


@pytest.mark.parametrize("how", ["flag-before", "flag-after", "environment"])
def test_debug_reraises_in_process(ctx, tmp_path, monkeypatch, how):
    argv = _search(ctx, "calm", index=str(tmp_path / "noindex"))
    if how == "flag-before":
        argv = ["--debug", *argv]
    elif how == "flag-after":
        argv = [argv[0], "--debug", *argv[1:]]
    else:
        monkeypatch.setenv("SPEECHBRAIN_STYLE_DEBUG", "1")
    with pytest.raises(FileNotFoundError, match="noindex"):
        main(argv)
    monkeypatch.setenv("SPEECHBRAIN_STYLE_DEBUG", "0")
    if how == "environment":  # "0" switches it off again
        assert main(argv) == 1


NUM_INTERRUPTED_FILES = 120


def _default_sigint():
    """In the child, before exec: SIGINT back to its default action."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_exits_130_and_the_rerun_finishes(ctx, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    # enough work that the interrupt always lands before the index is done
    # (20 files were indexed before the signal on a busy machine)
    for i in range(NUM_INTERRUPTED_FILES):
        sf.write(folder / f"u{i:03d}.wav", _signal(1.0, 100 + i, i), 16000)
    argv = _index(
        ctx, folder, tmp_path, "--batch-size", "1", option="--audio-dir"
    )
    argv = [str(arg) for arg in argv if arg != "--quiet"]
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("SPEECHBRAIN_STYLE_DEBUG", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "speechbrain_style.cli", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # A shell that starts a job in the background without job control
        # (`cmd &` in a script) ignores SIGINT in it, and Python then keeps
        # ignoring it: give the command the default, as a terminal does.
        preexec_fn=_default_sigint,
    )
    seen = bytearray()

    def read():
        while block := process.stderr.read1(4096):
            seen.extend(block)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        # The model is being loaded (inside the command): interrupt it.
        deadline = time.monotonic() + 120
        while b"Loading weights" not in seen and b"Indexing" not in seen:
            assert process.poll() is None, bytes(seen).decode()
            assert time.monotonic() < deadline, bytes(seen).decode()
            time.sleep(0.005)
        process.send_signal(signal.SIGINT)
        status = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(timeout=10)
    err = bytes(seen).decode()
    assert status == 130, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last == (
        "speechbrain-style index: interrupted; rerun the same command to resume"
    )
    code = main(argv + ["--quiet"])
    assert code == 0
    items = json.loads((tmp_path / "index" / "items.json").read_text())
    assert len(items) == NUM_INTERRUPTED_FILES


# --- gaps fixed -----------------------------------------------------------
def test_audio_dir_indexes_mp3_and_reports_what_it_skips(ctx, tmp_path, capsys):
    folder = tmp_path / "corpus"
    (folder / "spk1").mkdir(parents=True)
    shutil.copy(ctx["good_wav"], folder / "spk1" / "a.wav")
    sf.write(folder / "b.mp3", _signal(0.8, 250, 5), 16000, format="MP3")
    sf.write(folder / "c.flac", _signal(0.7, 350, 6), 16000)
    # Other rates and channel counts are not errors: resampled, downmixed.
    six = np.stack([_signal(0.6, 100 * c, c, 8000) for c in range(1, 7)], 1)
    sf.write(folder / "d.wav", six, 8000)
    (folder / "notes.txt").write_text("recorded in 2024")
    (folder / "talk.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A ")
    (folder / "gone.wav").symlink_to(tmp_path / "deleted.wav")
    (folder / "loop").symlink_to(folder)  # a link to a directory
    out_dir = tmp_path / "index"
    argv = _index(ctx, folder, tmp_path, option="--audio-dir")
    status, out, err = _invoke(argv, capsys)
    assert status == 0, err
    items = json.loads((out_dir / "items.json").read_text())
    assert sorted(item["id"] for item in items) == ["b", "c", "d", "spk1/a"]
    assert "Indexed 4 items" in out and "4 other file(s) not indexed" in out
    warning = [line for line in err.splitlines() if "warning:" in line]
    assert len(warning) == 1
    for name, reason in [
        ("gone.wav", "dangling symbolic link"),
        ("loop", "symbolic link to a directory"),
        ("notes.txt", "not an audio file"),
        ("talk.m4a", "audio format that libsndfile cannot read"),
    ]:
        assert f"{folder / name}: {reason}" in warning[0]
    assert warning[0].startswith("speechbrain-style index: warning: 4 file(s)")


def test_too_short_item_is_skipped_with_on_error_skip(ctx, tmp_path, capsys):
    _write_too_short(tmp_path / "short.wav")
    items = {
        "good": {"wav": ctx["good_wav"]},
        "short": {"wav": str(tmp_path / "short.wav")},
    }
    argv = _index_items(
        ctx, tmp_path, items, "--on-error", "skip", "--batch-size", "1"
    )
    status, out, err = _invoke(argv, capsys)
    assert status == 0, err
    info = json.loads((tmp_path / "index" / "index.json").read_text())
    assert info["count"] == 1
    assert [(s["id"], s["reason"]) for s in info["skipped"]] == [
        ("short", "encoder-error")
    ]
    assert "skipped 1 unusable item(s)" in out


def test_huge_k_returns_every_item(ctx, capsys):
    argv = _search(ctx, "-k", str(10**30), "--json", "calm")
    status, out, err = _invoke(argv, capsys)
    assert status == 0, err
    assert len(json.loads(out)["hits"]) == len(METADATA)


def _expected_ids(specs):
    """Item ids kept by ``specs``, computed here from the rules."""

    def equal(condition, value):
        text = condition.value
        if isinstance(value, bool):
            return text == json.dumps(value)
        if isinstance(value, (int, float)):
            try:
                return float(text) == value
            except ValueError:
                return False
        return text.strip('"') == value

    kept = []
    for item_id, metadata in METADATA.items():
        metadata = {**metadata, "duration": SECONDS[item_id]}
        ok = True
        conditions = [parse_condition(spec) for spec in specs]
        for field in {c.field for c in conditions}:
            mine = [c for c in conditions if c.field == field]
            value = metadata[field]
            alternatives = [c for c in mine if c.op == "="]
            if alternatives and not any(equal(c, value) for c in alternatives):
                ok = False
            for c in mine:
                if c.op == "!=" and equal(c, value):
                    ok = False
                if c.op in ("<", "<=", ">", ">="):
                    number = float(value)
                    bound = float(c.value)
                    ok &= {
                        "<": number < bound,
                        "<=": number <= bound,
                        ">": number > bound,
                        ">=": number >= bound,
                    }[c.op]
        if ok:
            kept.append(item_id)
    return sorted(kept)


FILTERS = [
    ["sex=female"],
    ["sex:female"],
    ["sex == male"],
    ["spk=1"],
    ["spk:1", "sex=male"],
    ["spk=1", "spk=2"],
    ["spk!=1"],
    ["spk>=2", "spk<3"],
    ["duration>0.7"],
    ["loud=true"],
    ["loud:false", "sex=male"],
    ["grade=7"],
    ['grade="7"'],
    ["grade=08"],
    ["grade>7.5"],
]


@pytest.fixture(scope="module")
def api(ctx):
    """The search page's app over the module's index (FastAPI TestClient)."""
    pytest.importorskip(
        "fastapi", reason='pip install "speechbrain-style[serve]"'
    )
    pytest.importorskip("httpx", reason="TestClient needs httpx (dev extra)")
    from fastapi.testclient import TestClient

    from speechbrain_style.retrieval.webapp import create_app

    service = StyleSearchService.from_folders(ctx["model"], ctx["index"])
    with TestClient(create_app(service)) as client:
        yield client
    service.close()


@pytest.mark.parametrize(
    "specs", FILTERS, ids=["&".join(specs) for specs in FILTERS]
)
def test_same_filter_same_items_in_cli_and_api(ctx, api, capsys, specs):
    expected = _expected_ids(specs)
    flags = [arg for spec in specs for arg in ("--filter", spec)]
    status, out, err = _invoke(
        _search(ctx, "-k", "100", "--json", *flags, "a calm voice"), capsys
    )
    assert status == 0, err
    cli_ids = sorted(hit["id"] for hit in json.loads(out)["hits"])
    response = api.get(
        "/api/search", params={"q": "a calm voice", "k": 100, "filter": specs}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    api_ids = sorted(result["id"] for result in answer["results"])
    assert cli_ids == api_ids == expected, (cli_ids, api_ids, expected)
    assert answer["filters"] == [str(parse_condition(s)) for s in specs]


def test_json_body_filter_dict_matches_typed_values(ctx, api):
    """A POSTed {field: value} filter compares numbers as numbers."""
    response = api.post(
        "/api/search",
        json={"q": "a calm voice", "k": 100, "filter": {"grade": 7}},
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    ids = sorted(result["id"] for result in answer["results"])
    assert ids == _expected_ids(["grade=7"]) == ["f_fast", "f_slow", "m_calm"]
