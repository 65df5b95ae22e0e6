"""Tests of speechbrain_style/prompts/speaker.py."""

import importlib.util
import json
import pathlib
import random

import numpy as np
import pytest
from speechbrain.dataio.dataset import DynamicItemDataset

from speechbrain_style.prompts.speaker import (
    DEMONYMS,
    ESPEAK_ACCENT_ORIGINS,
    SpeakerDescriber,
    make_speaker_description_pipeline,
    normalize_speaker_meta,
    read_paraphrases,
)
from tests.fake_data import make_fake_voxceleb

IRISH_MAN = {"spk_id": "id10001", "gender": "male", "nationality": "Ireland"}


def test_irish_man_train_bank_hand_checked():
    prompts = SpeakerDescriber().prompts(IRISH_MAN)
    # 4 noun phrases x 6 frames, all distinct
    assert len(prompts) == len(set(prompts)) == 24
    assert prompts[:6] == [
        "An Irish man.",
        "The voice of an Irish man.",
        "Speech by an Irish man.",
        "The person speaking is an Irish man.",
        "A recording of an Irish man.",
        "An Irish man is talking.",
    ]
    for expected in (
        "An Irish male speaker.",
        "A man from Ireland.",
        "The voice of a man with an Irish background.",
    ):
        assert expected in prompts


def test_heldout_bank_is_disjoint_and_hand_checked():
    metas = [
        IRISH_MAN,
        {"gender": "f", "nationality": "Canada"},
        {"gender": "m", "nationality": "Atlantis"},
        {"gender": "female"},
        {},
        {"sex": "male", "accent": "en-029", "age": 34},
    ]
    for meta in metas:
        train = set(SpeakerDescriber("train").prompts(meta))
        heldout = SpeakerDescriber("heldout").prompts(meta)
        assert len(heldout) >= 4
        assert not train & set(heldout), meta
    assert SpeakerDescriber("heldout").prompts(
        {"gender": "f", "nationality": "Canada"}
    ) == [
        "Listen to a Canadian-born woman.",
        "Here we hear a Canadian-born woman.",
        "A Canadian-born woman can be heard in this clip.",
        "Audio of a Canadian-born woman saying a few words.",
        "Listen to a woman of Canadian origin.",
        "Here we hear a woman of Canadian origin.",
        "A woman of Canadian origin can be heard in this clip.",
        "Audio of a woman of Canadian origin saying a few words.",
        "Listen to a female person from Canada.",
        "Here we hear a female person from Canada.",
        "A female person from Canada can be heard in this clip.",
        "Audio of a female person from Canada saying a few words.",
    ]


def test_brief_examples_and_article_agreement():
    describer = SpeakerDescriber()
    woman_ca = describer.prompts({"gender": "f", "nationality": "Canada"})
    assert "The voice of a woman with a Canadian background." in woman_ca
    cases = {
        "India": "An Indian man.",
        "USA": "An American man.",
        "UK": "A British man.",
        "Uganda": "A Ugandan man.",
        "Ukraine": "A Ukrainian man.",
        "Uruguay": "A Uruguayan man.",
        "Hungary": "A Hungarian man.",
        "Norway": "A Norwegian man.",
        "Mexico": "A Mexican man.",
        "Germany": "A German man.",
        "Italy": "An Italian man.",
        "Australia": "An Australian man.",
        "New Zealand": "A New Zealander man.",
    }
    for country, first in cases.items():
        prompts = describer.prompts({"gender": "m", "nationality": country})
        assert prompts[0] == first
    assert "A man from the USA." in describer.prompts(
        {"gender": "m", "nationality": "usa "}
    )
    assert "A woman from the Netherlands." in describer.prompts(
        {"gender": "f", "nationality": "Netherlands"}
    )


def test_no_demonym_falls_back_to_from_country():
    prompts = SpeakerDescriber().prompts({"gender": "m", "nationality": "Mars"})
    assert prompts[:2] == ["A man from Mars.", "The voice of a man from Mars."]
    assert "A male speaker from Mars." in prompts
    assert "A man with roots in Mars." in prompts
    assert all("Mars" in p and "{" not in p and "  " not in p for p in prompts)


def test_missing_slots_and_extra_fields():
    describer = SpeakerDescriber()
    assert describer.prompts({"nationality": "Ireland"})[:2] == [
        "An Irish person.",
        "The voice of an Irish person.",
    ]
    assert describer.prompts({"gender": "F"})[0] == "A woman."
    assert describer.prompts({"gender": None, "nationality": ""})[0] == (
        "A person."
    )
    meta = {"gender": "f", "nationality": "Kenya", "age": "30s"}
    meta["accent"] = "Scottish"
    assert describer.prompts(meta)[0] == (
        "A Kenyan woman in her 30s with a Scottish accent."
    )
    assert describer.prompts({"gender": "m", "age": "young"})[0] == (
        "A young man."
    )
    assert describer.prompts(
        {"gender": "m", "nationality": "India", "age": 41.0}
    )[0] == ("An Indian man aged 41.")
    assert describer.prompts({"gender": "f", "accent": "Irish accent"})[0] == (
        "A woman with an Irish accent."
    )
    with pytest.raises(ValueError, match="gender 'x'"):
        describer.prompts({"gender": "x"})
    with pytest.raises(TypeError, match="meta must be a dict"):
        describer.prompts("id10001")
    with pytest.raises(ValueError, match="bank"):
        SpeakerDescriber("test")


def test_synth_voices_as_speakers():
    describer = SpeakerDescriber()
    expected = {
        "en-us": "An American woman.",
        "en-gb-x-rp": "A British woman.",
        "en-gb-scotland": "A Scottish woman.",
        "en-us-nyc": "A New York woman.",
        "en-029": "A Caribbean woman.",
    }
    assert set(expected) == set(ESPEAK_ACCENT_ORIGINS)
    for accent, first in expected.items():
        meta = {"spk_id": f"{accent}_f2", "sex": "female", "accent": accent}
        assert describer.prompts(meta)[0] == first
    meta = {"sex": "male", "accent": "en-029", "voice": "en-029+x"}
    assert "A man from the Caribbean." in describer.prompts(meta)
    assert normalize_speaker_meta(meta)["accent"] is None


def test_describe_is_seeded_and_covers_the_bank():
    describer = SpeakerDescriber()
    prompts = describer.prompts(IRISH_MAN)
    draws = [
        describer.describe(IRISH_MAN, np.random.default_rng(s))
        for s in range(200)
    ]
    assert set(draws) == set(prompts)
    assert describer.describe(
        IRISH_MAN, np.random.default_rng(7)
    ) == describer.describe(IRISH_MAN, np.random.default_rng(7))
    assert describer.describe(IRISH_MAN, random.Random(0)) in prompts
    with pytest.raises(TypeError, match="rng"):
        describer.describe(IRISH_MAN, rng=0)


def test_every_demonym_yields_clean_prompts():
    describer = SpeakerDescriber("train")
    for country in DEMONYMS:
        for prompt in describer.prompts(
            {"gender": "m", "nationality": country}
        ):
            assert "(n)" not in prompt and "  " not in prompt, prompt
            assert prompt[0].isupper() and prompt.endswith("."), prompt


def test_paraphrases_json_and_csv(tmp_path):
    path = tmp_path / "para.json"
    path.write_text(
        json.dumps(
            {
                "id10001": ["An Irish actor talks.", "A man from Dublin."],
                "id10002": "An Indian composer.",
            }
        )
    )
    describer = SpeakerDescriber(paraphrases_file=str(path))
    assert describer.prompts(IRISH_MAN) == [
        "An Irish actor talks.",
        "A man from Dublin.",
    ]
    assert describer.describe(IRISH_MAN, np.random.default_rng(0)) in {
        "An Irish actor talks.",
        "A man from Dublin.",
    }
    other = {"spk_id": "id10006", "gender": "f", "nationality": "Australia"}
    assert describer.prompts(other)[0] == "An Australian woman."

    csv_path = tmp_path / "para.csv"
    csv_path.write_text(
        'spk_id,prompt\nid10001,"A man, Irish."\nid10001,Dubliner.\n'
        "id10001,Dubliner.\n\n"
    )
    assert read_paraphrases(str(csv_path)) == {
        "id10001": ["A man, Irish.", "Dubliner."]
    }
    bad = tmp_path / "bad.csv"
    bad.write_text("id10001,a,b\n")
    with pytest.raises(ValueError, match="line 1"):
        read_paraphrases(str(bad))
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"id10001": [""]}))
    with pytest.raises(ValueError, match="id10001"):
        SpeakerDescriber(paraphrases_file=str(empty))
    with pytest.raises(FileNotFoundError, match="nope.json"):
        read_paraphrases(str(tmp_path / "nope.json"))
    with pytest.raises(ValueError, match=r"\.json or \.csv"):
        read_paraphrases(str(bad.rename(tmp_path / "bad.txt")))


def test_pipeline_on_voxceleb_manifest(tmp_path):
    recipe = (
        pathlib.Path(__file__).resolve().parents[2]
        / "recipes"
        / "VoxCeleb"
        / "voxceleb_prepare.py"
    )
    spec = importlib.util.spec_from_file_location("voxceleb_prepare", recipe)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    root = make_fake_voxceleb(tmp_path / "vox1")
    outputs = [str(tmp_path / f"{s}.json") for s in ("tr", "va", "te")]
    module.prepare_voxceleb(root, *outputs)

    index = {"id10270": 0, "id10271": 1}
    pipeline = make_speaker_description_pipeline(
        SpeakerDescriber(), speaker_index=index
    )
    data = DynamicItemDataset.from_json(
        outputs[2],
        replacements={"data_root": root},
        dynamic_items=[pipeline],
        output_keys=["id", "spk_id", "description", "text_labels"],
    )
    heldout = SpeakerDescriber("heldout")
    kitt = SpeakerDescriber().prompts(
        {"gender": "female", "nationality": "USA"}
    )
    random.seed(0)
    for item in data:
        label = int(item["text_labels"][0])
        assert label == index[item["spk_id"]]
        if item["spk_id"] == "id10270":
            assert item["description"] in kitt
        else:
            assert (
                "British" in item["description"]
                or "UK" in (item["description"])
            )
        assert item["description"] not in heldout.prompts(
            {"gender": "male", "nationality": "UK"}
        )
    # reproducible under random.seed, as SpeechBrain's seed_everything does
    random.seed(3)
    first = [item["description"] for item in data]
    random.seed(3)
    assert [item["description"] for item in data] == first

    plain = make_speaker_description_pipeline(SpeakerDescriber("heldout"))
    data = DynamicItemDataset.from_json(
        outputs[2],
        replacements={"data_root": root},
        dynamic_items=[plain],
        output_keys=["description"],
    )
    assert data[0]["description"] in heldout.prompts(
        {"gender": "female", "nationality": "USA"}
    ) + heldout.prompts({"gender": "male", "nationality": "UK"})

    with pytest.raises(ValueError, match="id10271"):
        bad = make_speaker_description_pipeline(
            SpeakerDescriber(), speaker_index={"id10270": 0}
        )
        data = DynamicItemDataset.from_json(
            outputs[2],
            replacements={"data_root": root},
            dynamic_items=[bad],
            output_keys=["text_labels"],
        )
        list(data)
    with pytest.raises(ValueError, match="spk_id"):
        make_speaker_description_pipeline(
            SpeakerDescriber(), ("gender",), speaker_index=index
        )
    with pytest.raises(TypeError, match="SpeakerDescriber"):
        make_speaker_description_pipeline("train")
