"""Tests of speechbrain_style/prompts/dimensional.py."""

import json
import random
import re

import numpy as np
import pytest
import torch
from speechbrain.dataio.dataset import DynamicItemDataset

from speechbrain_style.prompts.dimensional import (
    SYNONYMS,
    TEMPLATES,
    DimensionalDescriber,
    make_dimensional_description_pipeline,
    read_captions,
)


def test_default_binning_edges():
    describer = DimensionalDescriber()
    # Edges 2.5, 3.5, 4.5, 5.5; a value on an edge goes to the upper level
    values = [1.0, 2.49, 2.5, 3.0, 3.5, 4.49, 4.5, 5.5, 7.0]
    expected = [0, 0, 1, 1, 2, 2, 3, 4, 4]
    for name in ("valence", "arousal"):
        assert [describer.level(name, v) for v in values] == expected
        assert describer.num_levels(name) == 5


def test_custom_bins_other_scale():
    # IEMOCAP 1-5 with 4 edges for valence, 2 edges (3 levels) for arousal
    describer = DimensionalDescriber(
        bins={"valence": [1.8, 2.6, 3.4, 4.2], "arousal": [2.5, 3.5]}
    )
    assert [describer.level("valence", v) for v in (1.0, 2.0, 3.0, 5.0)] == [
        0,
        1,
        2,
        4,
    ]
    assert [describer.level("arousal", v) for v in (2.0, 2.5, 4.9)] == [
        0,
        1,
        2,
    ]
    assert describer.num_levels("arousal") == 3
    # The 3-level words are used for arousal
    assert (
        describer.synonyms("arousal", 2) == SYNONYMS["train"]["arousal"][3][2]
    )
    with pytest.raises(ValueError, match="arousal"):
        describer.synonyms("arousal", 3)


def test_bad_arguments():
    with pytest.raises(ValueError, match="increasing"):
        DimensionalDescriber(bins={"valence": [3, 2, 4, 5]})
    with pytest.raises(ValueError, match="edges"):
        DimensionalDescriber(bins={"valence": [1, 2, 3]})
    with pytest.raises(ValueError, match="dominance"):
        DimensionalDescriber(bins={"dominance": [1, 2]})
    with pytest.raises(ValueError, match="bank"):
        DimensionalDescriber(bank="test")
    describer = DimensionalDescriber()
    with pytest.raises(ValueError, match="dimension"):
        describer.level("dominance", 3.0)
    with pytest.raises(TypeError, match="valence"):
        describer.level("valence", "high")
    with pytest.raises(ValueError, match="finite"):
        describer.level("arousal", float("nan"))


def _all_prompts(describer, bank):
    n_v = describer.num_levels("valence")
    n_a = describer.num_levels("arousal")
    return {
        (v, a): describer.prompts_for_levels(v, a, bank)
        for v in range(n_v)
        for a in range(n_a)
    }


@pytest.mark.parametrize("bins", [None, {"valence": [3, 5], "arousal": [3, 5]}])
def test_grammar_and_counts(bins):
    describer = DimensionalDescriber(bins=bins)
    for bank in ("train", "heldout"):
        for (v, a), prompts in _all_prompts(describer, bank).items():
            n_syn = len(describer.synonyms("valence", v, bank)) * len(
                describer.synonyms("arousal", a, bank)
            )
            assert len(prompts) == len(TEMPLATES[bank]) * n_syn
            assert len(set(prompts)) == len(prompts)
            for prompt in prompts:
                assert prompt[0].isupper(), prompt
                assert prompt.endswith("."), prompt
                assert "  " not in prompt and " ," not in prompt
                assert "{" not in prompt, prompt
                # a/an agreement and no double article
                assert not re.search(r"\ban [^aeiouh]", prompt, re.I), prompt
                assert not re.search(r"\ba [aeio]", prompt, re.I), prompt
                assert not re.search(r"\ban? an?\b", prompt, re.I), prompt


def test_hand_written_prompts():
    describer = DimensionalDescriber()
    prompts = describer.prompts_for_levels(1, 0)
    assert prompts[0] == "A very calm, slightly negative voice."
    assert "Someone sounding somewhat down and sleepy." in prompts
    assert "An emotionally neutral speaker who sounds excited." in (
        describer.prompts_for_levels(2, 3)
    )
    assert "An excited, very positive voice." in (
        describer.prompts_for_levels(4, 3)
    )
    heldout = describer.prompts_for_levels(2, 4, "heldout")
    assert "Audio of an extremely excited person in an unemotional mood." in (
        heldout
    )


def test_banks_disjoint_and_levels_unambiguous():
    for n in (3, 5):
        words = {}
        for bank in ("train", "heldout"):
            words[bank] = set()
            for name in ("valence", "arousal"):
                for synonyms in SYNONYMS[bank][name][n]:
                    words[bank].update(synonyms)
            # No word names two levels or both dimensions in one bank
            total = sum(
                len(s)
                for name in ("valence", "arousal")
                for s in SYNONYMS[bank][name][n]
            )
            assert len(words[bank]) == total
        assert not words["train"] & words["heldout"]
    assert not set(TEMPLATES["train"]) & set(TEMPLATES["heldout"])
    describer = DimensionalDescriber()
    train = {p for ps in _all_prompts(describer, "train").values() for p in ps}
    heldout = {
        p for ps in _all_prompts(describer, "heldout").values() for p in ps
    }
    assert not train & heldout


def test_describe_draws_from_the_cell():
    describer = DimensionalDescriber(bank="heldout")
    cell = set(describer.prompts_for_levels(0, 4))
    rng = np.random.default_rng(0)
    drawn = {describer.describe(1.2, 6.8, rng) for _ in range(200)}
    assert drawn <= cell
    assert len(drawn) > 10
    # random.Random works too and is reproducible
    a = describer.describe(1.2, 6.8, random.Random(3))
    assert a == describer.describe(1.2, 6.8, random.Random(3))
    with pytest.raises(TypeError, match="rng"):
        describer.describe(1.2, 6.8, rng=3)


def test_captions_csv_and_json_take_precedence(tmp_path):
    csv_path = tmp_path / "captions.csv"
    csv_path.write_text(
        'id,caption\nutt1,"A weary, low voice."\nutt1,Tired speech.\nutt2,\n',
        encoding="utf-8",
    )
    assert read_captions(str(csv_path)) == {
        "utt1": ["A weary, low voice.", "Tired speech."]
    }
    describer = DimensionalDescriber(captions_file=str(csv_path))
    rng = np.random.default_rng(0)
    drawn = {describer.describe_item("utt1", 4.0, 4.0, rng) for _ in range(50)}
    assert drawn == {"A weary, low voice.", "Tired speech."}
    # utt2's caption is empty: templates are used
    cell = describer.prompts_for_levels(0, 4)
    assert describer.describe_item("utt2", 1.0, 7.0, rng) in cell

    json_path = tmp_path / "captions.json"
    json_path.write_text(
        json.dumps({"utt3": "Only this.", "utt4": ["x", "y"]}),
        encoding="utf-8",
    )
    describer = DimensionalDescriber(captions_file=str(json_path))
    assert describer.describe_item("utt3", 1.0, 1.0) == "Only this."
    assert describer.describe_item("utt4", 1.0, 1.0) in {"x", "y"}

    bad = tmp_path / "bad.csv"
    bad.write_text("utt,text\nutt1,hello\n", encoding="utf-8")
    with pytest.raises(ValueError, match="id,caption"):
        DimensionalDescriber(captions_file=str(bad))
    with pytest.raises(ValueError, match="missing.json"):
        DimensionalDescriber(captions_file=str(tmp_path / "missing.json"))


def test_pipeline_outputs(tmp_path):
    captions = tmp_path / "captions.json"
    captions.write_text(json.dumps({"b": ["Captioned."]}), encoding="utf-8")
    describer = DimensionalDescriber(captions_file=str(captions))
    pipeline = make_dimensional_description_pipeline(describer)
    data = DynamicItemDataset(
        {
            "a": {"valence": 6.2, "arousal": 1.4},
            "b": {"valence": 3.0, "arousal": 4.0},
        },
        [pipeline],
        output_keys=["id", "description", "ordinal_values"],
    )
    random.seed(0)
    first = data[0]
    assert first["description"] in describer.prompts_for_levels(4, 0)
    # The item's own values, not level centres
    assert torch.equal(first["ordinal_values"], torch.tensor([6.2, 1.4]))
    assert first["ordinal_values"].dtype == torch.float32
    assert data[1]["description"] == "Captioned."
    # A new draw on every read, reproducible through random's seed
    random.seed(1)
    draws = [data[0]["description"] for _ in range(30)]
    assert len(set(draws)) > 5
    random.seed(1)
    assert draws == [data[0]["description"] for _ in range(30)]

    missing = DynamicItemDataset(
        {"c": {"valence": None, "arousal": 4.0}},
        [pipeline],
        output_keys=["description"],
    )
    with pytest.raises(ValueError, match="'c'"):
        missing[0]
    with pytest.raises(TypeError, match="DimensionalDescriber"):
        make_dimensional_description_pipeline("train")
