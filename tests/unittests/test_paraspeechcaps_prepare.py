"""Tests of recipes/ParaSpeechCaps/paraspeechcaps_prepare.py on a fake tree
of the Hugging Face dataset's layout and the four audio roots."""

import json
import logging
import os

import pytest

from tests.fake_data import (
    FAKE_PSC_ROWS,
    make_fake_paraspeechcaps,
    paraspeechcaps_roots,
)
from tests.prepare_utils import load_recipe_module, read_manifests, run_logged

module = load_recipe_module("ParaSpeechCaps", "paraspeechcaps_prepare.py")
prepare_paraspeechcaps = module.prepare_paraspeechcaps


def _run(tree, out, **kwargs):
    outputs = [str(out / f"{split}.json") for split in ("tr", "va", "te")]
    roots = paraspeechcaps_roots(tree)
    roots.update(kwargs.pop("roots", {}))
    summary = prepare_paraspeechcaps(
        f"{tree}/annotations", *outputs, **roots, **kwargs
    )
    return summary, dict(
        zip(("train", "valid", "test"), read_manifests(outputs), strict=True)
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_fake_paraspeechcaps(tmp_path_factory.mktemp("psc"))


def test_splits_fields_and_placeholders(tree, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        summary, manifests = _run(tree, tmp_path)
    assert (summary["train"], summary["valid"], summary["test"]) == (7, 2, 3)
    assert summary["skipped"]["train"] == {
        "missing_audio": 1,
        "no_description": 1,
    }
    assert "missing_audio" in caplog.text
    train = manifests["train"]
    vox = train[
        "voxceleb/voxceleb1/dev/wav/id10001/1zcIwhmdeo4/00001_voicefixer"
    ]
    assert vox["wav"] == (
        "{voxceleb_root}/voxceleb1/dev/wav/id10001/1zcIwhmdeo4/"
        "00001_voicefixer.wav"
    )
    assert vox["source"] == "voxceleb" and vox["accent"] == "American"
    assert vox["intrinsic_tags"] == ["husky", "deep"]
    assert vox["situational_tags"] is None
    assert vox["split"] == "train_base" and vox["start"] is None
    emilia = [k for k in train if k.startswith("emilia/")]
    assert len(emilia) == 2
    item = train[emilia[0]]
    assert item["wav"].startswith("{emilia_root}/EN/EN_B00030/")
    assert item["wav"].endswith(".mp3")
    assert item["descriptions"] == [
        "A guttural male voice.",
        "A guttural male voice sounds angry, fast.",
    ]
    expected = FAKE_PSC_ROWS["train_base"][5]
    assert item["pitch"] == expected[6] and item["speaking_rate"] == expected[7]
    # placeholders fill with the roots to existing files
    roots = paraspeechcaps_roots(tree)
    for manifest in manifests.values():
        for entry in manifest.values():
            assert os.path.isfile(entry["wav"].format_map(roots)), entry["wav"]
            assert entry["duration"] > 0
    assert set(manifests["test"]) == {
        "ears/p003/emo_amusement_freeform",
        "expresso/audio_48khz/read/ex03/whisper/base/ex03_whisper_00004",
        "voxceleb/voxceleb2/test/aac/id00017/01dfn2spqyE/00001_voicefixer",
    }


def test_scaled_split_and_missing_roots(tree, tmp_path):
    summary, manifests = _run(
        tree,
        tmp_path,
        train_splits=["train_base", "train_scaled"],
        roots={"emilia_root": None},
    )
    # the two train_base Emilia rows and the train_scaled one are counted
    assert summary["skipped"]["train"]["no_emilia_root"] == 3
    assert summary["train"] == 5
    assert {item["split"] for item in manifests["train"].values()} == {
        "train_base"
    }
    summary, manifests = _run(
        tree, tmp_path / "b", train_splits=["train_base", "train_scaled"]
    )
    assert summary["train"] == 8
    assert {item["split"] for item in manifests["train"].values()} == {
        "train_base",
        "train_scaled",
    }


def test_json_lines_export_is_read(tree, tmp_path):
    """The same rows exported with datasets' to_json (JSON lines)."""
    import pyarrow.parquet as pq

    folder = tmp_path / "export"
    folder.mkdir()
    for split in ("train_base", "dev", "holdout"):
        (path,) = module.annotation_files(f"{tree}/annotations", split)
        with open(folder / f"{split}.jsonl", "w", encoding="utf-8") as fout:
            for row in pq.read_table(path).to_pylist():
                fout.write(json.dumps(row) + "\n")
    outputs = [str(tmp_path / f"{s}.json") for s in ("tr", "va", "te")]
    summary = prepare_paraspeechcaps(
        str(folder), *outputs, **paraspeechcaps_roots(tree)
    )
    assert (summary["train"], summary["valid"], summary["test"]) == (7, 2, 3)


def test_errors_and_skip(tree, tmp_path, caplog):
    outputs = [str(tmp_path / f"{s}.json") for s in ("tr", "va", "te")]
    with pytest.raises(FileNotFoundError, match="split 'dev2'"):
        prepare_paraspeechcaps(
            f"{tree}/annotations",
            *outputs,
            valid_split="dev2",
            **paraspeechcaps_roots(tree),
        )
    with pytest.raises(ValueError, match="at least one source"):
        prepare_paraspeechcaps(f"{tree}/annotations", *outputs)
    with pytest.raises(FileNotFoundError, match="ears_root not found"):
        prepare_paraspeechcaps(
            f"{tree}/annotations", *outputs, ears_root=str(tmp_path / "no")
        )
    _run(tree, tmp_path)
    assert (
        run_logged(
            caplog,
            prepare_paraspeechcaps,
            f"{tree}/annotations",
            *outputs,
            **paraspeechcaps_roots(tree),
        )
        is None
    )
    assert "Preparation completed in previous run, skipping." in caplog.text
