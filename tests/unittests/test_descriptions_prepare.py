"""Your own data: descriptions manifests (JSON/CSV), checks, preparation,
and the conversion of the embedded corpus."""

import json
import logging
import os
import re

import pytest

from speechbrain_style.corpora.stylesynth.synth import STYLE_FACTORS
from speechbrain_style.dataio.descriptions import (
    ManifestError,
    read_description_manifest,
)
from tests.fake_data import (
    FAKE_DESCRIPTION_ITEMS,
    FAKE_DESCRIPTION_MISSING,
    make_fake_descriptions,
)
from tests.prepare_utils import load_recipe_module, read_manifests, run_logged

prepare_descriptions = load_recipe_module(
    "Descriptions", "descriptions_prepare.py"
).prepare_descriptions
convert_stylesynth = load_recipe_module(
    "Descriptions", "stylesynth_to_descriptions.py"
).convert_stylesynth


def _run(root, out, **kwargs):
    outputs = [str(out / f"{split}.json") for split in ("tr", "va", "te")]
    kwargs.setdefault("train_manifest", f"{root}/train.json")
    kwargs.setdefault("test_manifest", f"{root}/test.csv")
    summary = prepare_descriptions(root, *outputs, **kwargs)
    return summary, dict(
        zip(("train", "valid", "test"), read_manifests(outputs), strict=True)
    )


def test_json_and_csv_manifests_are_prepared(tmp_path, caplog):
    root = make_fake_descriptions(tmp_path / "mine")
    with caplog.at_level(logging.WARNING):
        summary, manifests = _run(root, tmp_path, valid_ratio=0.25)
    assert summary["train"] + summary["valid"] == len(FAKE_DESCRIPTION_ITEMS)
    assert summary["valid"] == 3
    # the held-out items are always the same ones
    again, _ = _run(root, tmp_path / "again", valid_ratio=0.25)
    assert again == summary
    assert not set(manifests["train"]) & set(manifests["valid"])
    w02 = {**manifests["train"], **manifests["valid"]}["w02"]
    assert w02["wav"] == "{data_root}/clips/w02.wav"
    assert w02["descriptions"] == [
        "Someone whispering.",
        "A man whispering slowly.",
    ]
    assert w02["tags"] == ["soft", "slow"] and w02["phonation"] == "whispered"
    assert w02["duration"] == pytest.approx(1.0, abs=1e-3)
    test = manifests["test"]
    assert FAKE_DESCRIPTION_MISSING not in test
    assert summary["skipped"]["test"] == {"missing_audio": 1}
    assert "missing_audio" in caplog.text
    # CSV: $data_root, | separated descriptions, quoted commas, UTF-8, segments
    assert test["t02"]["wav"] == "{data_root}/clips/t02.wav"
    assert test["t02"]["descriptions"] == [
        "A man speaking out loud.",
        "A calm man, talking in a café.",
    ]
    assert test["t03"]["start"] == 0.5 and test["t03"]["stop"] == 1.5
    assert test["t03"]["duration"] == pytest.approx(1.0)
    # every field everywhere: the CSV has no tags column -> None
    assert test["t01"]["tags"] is None
    assert summary["fields"] == ["gender", "phonation", "tags"]
    # outputs exist: nothing is redone
    outputs = [str(tmp_path / f"{s}.json") for s in ("tr", "va", "te")]
    assert (
        run_logged(
            caplog,
            prepare_descriptions,
            root,
            *outputs,
            train_manifest=f"{root}/train.json",
            test_manifest=f"{root}/test.csv",
        )
        is None
    )
    assert "Preparation completed in previous run, skipping." in caplog.text


def _write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_manifest_without_descriptions_is_a_clear_error(tmp_path):
    path = _write(
        tmp_path / "m.json",
        json.dumps({"a": {"wav": "a.wav", "caption": "A man."}}),
    )
    with pytest.raises(ManifestError, match="has no 'descriptions' field"):
        read_description_manifest(path)
    path = _write(
        tmp_path / "n.json",
        json.dumps(
            {
                "a": {"wav": "a.wav", "descriptions": ["A man."]},
                "b": {"wav": "b.wav"},
            }
        ),
    )
    with pytest.raises(ManifestError, match="item 'b' has no 'descriptions'"):
        read_description_manifest(path)
    # another field name works when given
    path = _write(
        tmp_path / "c.json",
        json.dumps({"a": {"wav": "a.wav", "caption": ["A man."]}}),
    )
    item = read_description_manifest(path, description_key="caption")["a"]
    assert item["descriptions"] == ["A man."] and "caption" not in item


@pytest.mark.parametrize(
    "descriptions,message",
    [
        ([], "non-empty list"),
        (["A man.", "   "], "description 2 of 'descriptions' is empty"),
        ([3], "is not text"),
    ],
)
def test_empty_or_bad_descriptions_are_clear_errors(
    tmp_path, descriptions, message
):
    path = _write(
        tmp_path / "m.json",
        json.dumps({"u1": {"wav": "a.wav", "descriptions": descriptions}}),
    )
    with pytest.raises(ManifestError, match=message) as err:
        read_description_manifest(path)
    assert "'u1'" in str(err.value) and "m.json" in str(err.value)


def test_empty_csv_cell_is_an_error(tmp_path):
    path = _write(
        tmp_path / "m.csv", "ID,wav,descriptions\nu1,a.wav,A man.||\n"
    )
    with pytest.raises(ManifestError, match="description 2 .* is empty"):
        read_description_manifest(path)


def test_non_utf8_text_is_a_clear_error(tmp_path):
    path = _write(
        tmp_path / "latin.csv",
        "ID,wav,descriptions\nu1,a.wav,Un homme âgé qui parle.\n",
        encoding="latin-1",
    )
    with pytest.raises(ManifestError, match=r"not UTF-8 .*line 2") as err:
        read_description_manifest(path)
    assert "latin.csv" in str(err.value) and "0xe2" in str(err.value)
    # the prepare step stops on it, naming the file
    root = make_fake_descriptions(tmp_path / "mine")
    with pytest.raises(ManifestError, match="latin.csv"):
        _run(root, tmp_path / "out", test_manifest=path)


def test_other_manifest_errors(tmp_path):
    with pytest.raises(ManifestError, match="not valid JSON"):
        read_description_manifest(_write(tmp_path / "a.json", "{oops"))
    with pytest.raises(ManifestError, match="'ID' column"):
        read_description_manifest(
            _write(tmp_path / "b.csv", "wav,descriptions\na.wav,x\n")
        )
    with pytest.raises(ManifestError, match="stop .* must be > start"):
        read_description_manifest(
            _write(
                tmp_path / "c.json",
                json.dumps(
                    {
                        "u": {
                            "wav": "a",
                            "descriptions": ["x"],
                            "start": 2,
                            "stop": 1,
                        }
                    }
                ),
            )
        )
    with pytest.raises(ManifestError, match="no 'wav'"):
        read_description_manifest(
            _write(
                tmp_path / "d.json", json.dumps({"u": {"descriptions": ["x"]}})
            )
        )


HELDOUT_OPENINGS = re.compile(
    r"^(This is|Listen to|The .* of|A recording in which|You can hear|Here,)"
)
MALE = re.compile(r"\b(man|male|guy|gentleman|masculine|his)\b", re.I)
FEMALE = re.compile(r"\b(woman|female|lady|feminine|her)\b", re.I)
WHISPER = re.compile(
    r"whisper|hushed|under (his|her|their) breath|without voicing"
)


def test_embedded_corpus_conversion(tmp_path):
    paths = convert_stylesynth(
        tmp_path,
        num_descriptions=4,
        num_train_utts=12,
        num_valid_utts=4,
        num_test_utts=6,
    )
    manifests = dict(zip(paths, read_manifests(paths.values()), strict=True))
    for split, manifest in manifests.items():
        for item in manifest.values():
            texts = item["descriptions"]
            assert len(texts) == len(set(texts)) >= 2
            for text in texts:
                # test: the held-out bank's sentence shapes only (the
                # train-bank test: the test utterances, training wordings)
                heldout = bool(HELDOUT_OPENINGS.match(text))
                expected = split in ("test", "test_closed")
                assert heldout == expected, (split, text)
                # the descriptions describe the utterance
                if MALE.search(text):
                    assert item["sex"] == "male", text
                if FEMALE.search(text):
                    assert item["sex"] == "female", text
                if WHISPER.search(text):
                    assert item["phonation"] == "whispered", text
            if item["phonation"] == "whispered":
                assert item["pitch"] is None and item["range"] is None
            assert set(STYLE_FACTORS) <= set(item)
    # closed test: an utterance's own descriptions first, then every other
    # test description true of it (here: the same sex at least)
    test, closed = manifests["test"], manifests["test_closed"]
    assert test.keys() == closed.keys()
    pool = {t for item in test.values() for t in item["descriptions"]}
    for utt_id, item in closed.items():
        own = test[utt_id]["descriptions"]
        assert item["descriptions"][: len(own)] == own
        assert set(item["descriptions"]) <= pool
    trainbank = manifests["test_trainbank_closed"]
    assert trainbank.keys() == test.keys()
    assert all(
        trainbank[u]["descriptions"][0] not in test[u]["descriptions"]
        for u in test
    )
    sexes = {item["sex"] for item in test.values()}
    if len(sexes) == 2:
        assert any(
            len(closed[u]["descriptions"]) > len(test[u]["descriptions"])
            for u in test
        )
    # rerunning gives the same descriptions
    again = convert_stylesynth(
        tmp_path, num_descriptions=4, out_folder=tmp_path / "b"
    )
    assert read_manifests([again["test"]]) == [manifests["test"]]
    assert os.path.isfile(tmp_path / "corpus.json")
