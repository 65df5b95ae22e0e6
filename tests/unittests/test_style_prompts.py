"""Tests of the categorical style prompts
(speechbrain_style.prompts.emotion)."""

import importlib.util
import random
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from speechbrain.dataio.dataset import DynamicItemDataset

from speechbrain_style.evaluation.retrieval import RetrievalEvaluator
from speechbrain_style.prompts.emotion import (
    ESD_STYLES,
    EXPRESSO_STYLES,
    HELDOUT_PHRASE_TEMPLATES,
    HELDOUT_STYLE_SYNONYMS,
    HELDOUT_TEMPLATES,
    IEMOCAP_STYLES,
    PHRASE_TEMPLATES,
    STYLE_SYNONYMS,
    TEMPLATES,
    StylePrompts,
    make_style_description_pipeline,
    make_style_label_pipeline,
    style_description_bank,
    style_prompt_bank,
)

ALL_STYLES = sorted(STYLE_SYNONYMS)
REPO = Path(__file__).resolve().parents[2]
PHRASE_START = ("in ", "with ", "spoken ")


def _is_phrase(synonym):
    return synonym.startswith(PHRASE_START)


def _all_prompts(bank_name):
    bank = style_prompt_bank(ALL_STYLES, bank_name)
    return {cls: bank.prompts(cls) for cls in ALL_STYLES}


def test_listed_styles_are_covered():
    listed = {
        # ESD
        *("neutral", "angry", "happy", "sad", "surprise"),
        # Expresso (every style, not only the evaluated ones)
        *(
            "angry animal animaldir awe bored calm child childdir confused "
            "default desire disgusted enunciated fast fearful happy laughing "
            "narration nonverbal projected sad sarcastic sleepy sympathetic "
            "whisper"
        ).split(),
        # IEMOCAP
        *(
            "neutral frustrated angry sad happy excited surprised fearful "
            "disgusted"
        ).split(),
    }
    assert len(listed) == 30
    assert set(STYLE_SYNONYMS) == listed
    assert set(HELDOUT_STYLE_SYNONYMS) == listed
    assert set(ESD_STYLES) | set(EXPRESSO_STYLES) | set(IEMOCAP_STYLES) == (
        listed
    )
    assert len(EXPRESSO_STYLES) == 25


def _load_prepare(dataset, name):
    path = REPO / "recipes" / dataset / f"{name}.py"
    if not path.exists():
        pytest.skip(f"{path} not written yet")
    spec = importlib.util.spec_from_file_location(f"_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recipe_label_sets_are_covered():
    expresso = _load_prepare("Expresso", "expresso_prepare")
    assert len(expresso.EVAL_STYLES) == 19
    assert set(expresso.ALL_STYLES) <= set(EXPRESSO_STYLES)
    iemocap = _load_prepare("IEMOCAP", "iemocap_prepare")
    for name, mapping in iemocap.LABEL_SETS.items():
        if name in iemocap.DIMENSIONAL_LABEL_SETS:
            # every categorical label kept as metadata, plus the turns
            # without a majority category
            assert set(IEMOCAP_STYLES) < set(mapping.values())
        else:
            assert set(mapping.values()) <= set(IEMOCAP_STYLES)
    esd = _load_prepare("ESD", "esd_prepare")
    assert {e.lower() for e in esd.EMOTIONS} == set(ESD_STYLES)
    # the recipes' label sets build banks
    for classes in (expresso.EVAL_STYLES, ESD_STYLES, IEMOCAP_STYLES):
        StylePrompts(classes)("style", classes[0], "heldout")


def test_training_bank_sizes():
    assert len(TEMPLATES) == len(PHRASE_TEMPLATES) == 11
    assert PHRASE_TEMPLATES[0] == "Speech that is {style}."
    for cls in ALL_STYLES:
        synonyms = STYLE_SYNONYMS[cls]
        assert len(synonyms) == len(set(synonyms)) == 5, cls
    for cls, prompts in _all_prompts("train").items():
        # 5 synonyms x 11 templates, all distinct after dedupe
        assert len(prompts) == 55, cls
        assert len(set(prompts)) == 55


def test_heldout_bank_sizes():
    assert len(HELDOUT_TEMPLATES) >= 5
    assert len(HELDOUT_PHRASE_TEMPLATES) == len(HELDOUT_TEMPLATES)
    for cls in ALL_STYLES:
        assert len(set(HELDOUT_STYLE_SYNONYMS[cls])) >= 3, cls
    for cls, prompts in _all_prompts("heldout").items():
        n = len(HELDOUT_STYLE_SYNONYMS[cls]) * len(HELDOUT_TEMPLATES)
        assert len(set(prompts)) == n, cls


def test_article_agreement():
    train = _all_prompts("train")
    assert "An angry voice." in train["angry"]
    assert "A sad voice." in train["sad"]
    assert "An unhappy voice." in train["sad"]
    assert "Someone speaking in an angry manner." in train["angry"]
    assert "A recording of an excited voice." in train["excited"]
    assert "Someone with an uninterested tone of voice." in train["bored"]
    assert "A recording of a hushed voice." in train["whisper"]
    heldout = _all_prompts("heldout")
    assert "Here is an enraged talker." in heldout["angry"]
    assert "You can hear an apathetic person speaking." in heldout["bored"]
    assert "Here is a livid talker." in heldout["angry"]
    for bank in (train, heldout):
        for prompts in bank.values():
            for prompt in prompts:
                # no synonym in these banks has a vowel letter with a
                # consonant sound ("a unique") or a silent h ("an honest")
                assert not re.search(r"\b[Aa] [aeiouAEIOU]", prompt), prompt
                assert not re.search(r"\b[Aa]n [^aeiouAEIOU]", prompt), prompt
                assert "{" not in prompt and "  " not in prompt
                assert prompt[0].isupper() and prompt.endswith(".")


def test_phrases_go_into_phrase_templates():
    train = _all_prompts("train")
    n_phrases = 0
    for cls in ALL_STYLES:
        prompts = train[cls]
        for synonym in STYLE_SYNONYMS[cls]:
            word = re.compile(rf"\b{re.escape(synonym)}\b")
            with_synonym = [p for p in prompts if word.search(p)]
            if _is_phrase(synonym):
                n_phrases += 1
                assert f"Speech that is {synonym}." in prompts
                expected = [t.format(style=synonym) for t in PHRASE_TEMPLATES]
                assert sorted(with_synonym) == sorted(expected)
                # never an adjective slot: "A with anger voice."
                assert f"A {synonym} voice." not in prompts
            else:
                assert f"Speech that is {synonym}." not in prompts
                assert len(with_synonym) >= 11
    assert n_phrases >= 30
    assert "Speech that is in an angry tone." in train["angry"]
    assert "Speech that is with anger." in train["angry"]
    assert "Someone speaking in awe." in train["awe"]


def test_banks_are_disjoint():
    train = _all_prompts("train")
    heldout = _all_prompts("heldout")
    train_set = {p for prompts in train.values() for p in prompts}
    heldout_set = {p for prompts in heldout.values() for p in prompts}
    assert not train_set & heldout_set
    # and so are their parts
    train_synonyms = {s for syns in STYLE_SYNONYMS.values() for s in syns}
    heldout_synonyms = {
        s for syns in HELDOUT_STYLE_SYNONYMS.values() for s in syns
    }
    assert not train_synonyms & heldout_synonyms
    assert not set(TEMPLATES + PHRASE_TEMPLATES) & set(
        HELDOUT_TEMPLATES + HELDOUT_PHRASE_TEMPLATES
    )


@pytest.mark.parametrize(
    "styles", [ESD_STYLES, IEMOCAP_STYLES, EXPRESSO_STYLES]
)
@pytest.mark.parametrize("bank_name", ["train", "heldout"])
def test_classes_of_a_dataset_share_no_prompt(styles, bank_name):
    bank = style_prompt_bank(styles, bank_name)
    seen = {}
    for cls in styles:
        for prompt in bank.prompts(cls):
            assert prompt not in seen, (prompt, cls, seen.get(prompt))
            seen[prompt] = cls


def test_surprise_aliases_share_prompts():
    assert STYLE_SYNONYMS["surprise"] == STYLE_SYNONYMS["surprised"]
    bank = style_prompt_bank(["surprise", "surprised"])
    assert bank.prompts("surprise") == bank.prompts("surprised")


def test_bank_errors():
    with pytest.raises(ValueError, match="'nope'"):
        style_prompt_bank(["angry", "nope"])
    with pytest.raises(ValueError, match="bank"):
        style_prompt_bank(["angry"], bank="test")
    with pytest.raises(TypeError, match="classes"):
        style_prompt_bank("angry")
    with pytest.raises(ValueError, match="Duplicate"):
        style_prompt_bank(["sad", "sad"])
    with pytest.raises(ValueError, match="empty"):
        style_prompt_bank([])
    prompts = StylePrompts(["angry", "sad"])
    with pytest.raises(ValueError, match="'happy'"):
        prompts("style", "happy", "train")
    with pytest.raises(ValueError, match="bank"):
        prompts("style", "sad", "valid")


def test_style_prompts_as_prompt_fn():
    prompts = StylePrompts(ESD_STYLES)
    bank = style_prompt_bank(ESD_STYLES)
    assert prompts("style", "happy", "train") == bank.prompts("happy")
    assert prompts("emotion", "happy", "train") == bank.prompts("happy")
    heldout = prompts("style", "happy", "heldout")
    assert heldout == style_prompt_bank(["happy"], "heldout").prompts("happy")


def test_sample_is_deterministic_and_uniform():
    prompts = StylePrompts(["angry", "calm"])
    draws_a = [prompts.sample("angry", np.random.default_rng(7))]
    draws_b = [prompts.sample("angry", np.random.default_rng(7))]
    assert draws_a == draws_b
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    seq_a = [prompts.sample("calm", rng_a) for _ in range(50)]
    seq_b = [prompts.sample("calm", rng_b) for _ in range(50)]
    assert seq_a == seq_b
    # one (synonym, template) pair uniformly: every prompt gets drawn
    rng = np.random.default_rng(0)
    counts = {}
    for _ in range(5500):
        text = prompts.sample("angry", rng)
        counts[text] = counts.get(text, 0) + 1
    assert set(counts) == set(prompts("style", "angry", "train"))
    assert min(counts.values()) > 50 and max(counts.values()) < 160
    # the held-out bank samples from held-out prompts only
    text = prompts.sample("angry", np.random.default_rng(0), bank="heldout")
    assert text in prompts("style", "angry", "heldout")


def _descriptions(pipeline, styles, seed):
    data = DynamicItemDataset(
        {f"u{i}": {"style": s} for i, s in enumerate(styles)},
        dynamic_items=[pipeline],
        output_keys=["id", "description", "text_labels"],
    )
    random.seed(seed)
    return [data[i] for i in range(len(data))]


def test_description_pipeline():
    classes = ["neutral", "angry", "happy"]
    pipeline = make_style_description_pipeline(classes)
    styles = ["angry", "happy", "neutral", "angry"] * 5
    items = _descriptions(pipeline, styles, seed=1)
    bank = style_prompt_bank(classes)
    for style, item in zip(styles, items, strict=True):
        assert item["description"] in bank.prompts(style)
        label = item["text_labels"]
        assert label.dtype == torch.long and label.shape == (1,)
        assert label.item() == classes.index(style)
    # seeded through Python's random (as SpeechBrain seeds it)
    again = _descriptions(pipeline, styles, seed=1)
    other = _descriptions(pipeline, styles, seed=2)
    texts = [item["description"] for item in items]
    assert texts == [item["description"] for item in again]
    assert texts != [item["description"] for item in other]
    # the same utterance gets varied wordings
    assert len({item["description"] for item in items[::4]}) > 1


def test_description_pipeline_heldout_and_errors():
    pipeline = make_style_description_pipeline(["sad"], bank="heldout")
    (item,) = _descriptions(pipeline, ["sad"], seed=0)
    assert item["description"] in style_prompt_bank(["sad"], "heldout").prompts(
        "sad"
    )
    with pytest.raises(ValueError, match="bank"):
        make_style_description_pipeline(["sad"], bank="dev")
    with pytest.raises(ValueError, match="'hungry'"):
        make_style_description_pipeline(["sad", "hungry"])
    pipeline = make_style_description_pipeline(["sad"])
    with pytest.raises(ValueError, match="'angry'"):
        _descriptions(pipeline, ["angry"], seed=0)


def test_label_pipeline():
    classes = list(ESD_STYLES)
    pipeline = make_style_label_pipeline(classes)
    data = DynamicItemDataset(
        {"a": {"style": "surprise"}, "b": {"style": "neutral"}},
        dynamic_items=[pipeline],
        output_keys=["speech_labels", "style_index"],
    )
    assert data[0]["style_index"] == 4
    assert torch.equal(data[0]["speech_labels"], torch.LongTensor([4]))
    assert data[1]["style_index"] == 0
    bad = DynamicItemDataset(
        {"c": {"style": "excited"}},
        dynamic_items=[pipeline],
        output_keys=["style_index"],
    )
    with pytest.raises(ValueError, match="'excited'"):
        bad[0]


def test_retrieval_evaluator_with_style_prompts():
    classes = ["angry", "sad", "calm"]
    prompts = StylePrompts(classes)
    owner = {}
    for bank_name in ("train", "heldout"):
        for idx, cls in enumerate(classes):
            for text in prompts("style", cls, bank_name):
                owner[text] = idx

    def encode(texts):  # a toy text encoder: a class's prompts -> its axis
        return torch.eye(3)[[owner[t] for t in texts]]

    evaluator = RetrievalEvaluator(["style"], prompts)
    items = [
        {"id": f"u{i}", "style": cls}
        for i, cls in enumerate(["angry", "sad", "calm", "sad"])
    ]
    speech = torch.eye(3)[[0, 1, 2, 1]]
    results = evaluator.evaluate(speech, items, encode)
    for bank_name in ("train", "heldout"):
        assert results["summary"][bank_name]["t2s_R@1"] == 1.0


def test_style_description_bank():
    texts = style_description_bank(["sad", "calm"], per_class=2)
    assert texts == [
        "Here is a melancholy talker.",
        "Here is a tranquil talker.",
        "Listen to this melancholy voice.",
        "Listen to this tranquil voice.",
    ]
    everything = style_description_bank(ESD_STYLES)
    assert len(everything) == 5 * 3 * len(HELDOUT_TEMPLATES)
    assert everything == sorted(set(everything))
    train = style_description_bank(ESD_STYLES, bank="train")
    assert len(train) == 5 * 55 and not set(train) & set(everything)
    with pytest.raises(ValueError, match="per_class"):
        style_description_bank(ESD_STYLES, per_class=0)
