"""Tests of the style descriptions (speechbrain_style.prompts)."""

import itertools
import random
import re

import numpy as np
import pytest

from speechbrain_style.corpora.stylesynth.synth import (
    STYLE_FACTORS,
    UNOBSERVABLE_FACTORS,
)
from speechbrain_style.prompts.bank import BANKS, PromptBank, indefinite_article
from speechbrain_style.prompts.stylesynth import (
    _VOCAB,
    StyleDescriber,
    class_prompts,
    combo_prompts,
    factor_labels,
)

TEMPLATES = [
    "A {style} voice.",
    "The speaker sounds {style}.",
    "Someone speaking in a {style} way.",
    "An utterance that is {style}.",
    "{style} speech.",
    "This recording is {style}.",
    "A {style} delivery.",
    "The tone is {style}.",
    "Speech delivered in a {style} manner.",
    "It sounds {style}.",
    "Speech that is {style}.",
]
SYNONYMS = {
    "angry": ["angry", "furious", "irritated", "harsh", "upset"],
    "awe": ["in awe", "amazed", "with wonder", "spoken reverently", "awed"],
    "odd": ["indignant", "honest", "unique", "one-sided", "hurt"],
}


def _wordings(bank):
    """{(factor, value): [regex of every wording]} of a bank."""
    out = {}
    for factor, values in _VOCAB.items():
        for value, roles in values.items():
            phrases = []
            for role, banks in roles.items():
                for wording in banks[bank]:
                    words = wording if role == "verb" else (wording,)
                    for w in words:
                        w = re.escape(w).replace(
                            re.escape("{their}"), "(his|her|their)"
                        )
                        phrases.append(re.compile(rf"\b{w}\b", re.IGNORECASE))
            out[(factor, value)] = phrases
    return out


WORDINGS = {bank: _wordings(bank) for bank in BANKS}


def _mentions(text, bank):
    """{factor: {values}} whose wordings occur in a text."""
    found = {}
    for (factor, value), patterns in WORDINGS[bank].items():
        if any(p.search(text) for p in patterns):
            found.setdefault(factor, set()).add(value)
    return found


def _check_grammar(text):
    assert text[0].isupper(), text
    assert text.endswith("."), text
    assert text.count(".") == 1, text
    assert "  " not in text and " ," not in text and " ." not in text, text
    assert "{" not in text and "}" not in text, text
    assert ",," not in text and ", and" not in text, text
    for article, word in re.findall(r"\b([Aa]n?) ([\w'-]+)", text):
        assert article.lower() == indefinite_article(word), text


def _random_factors(rng):
    return {f: v[rng.integers(len(v))] for f, v in STYLE_FACTORS.items()}


def test_indefinite_article():
    cases = {
        "angry voice": "an",
        "happy": "a",
        "unemotional": "an",
        "unique": "a",
        "unhurried": "an",
        "hour-long": "an",
        "honest": "an",
        "high-pitched": "a",
        "one-sided": "a",
        "European": "a",
        "expressive": "an",
        "ordinary": "an",
        "sad": "a",
    }
    for phrase, article in cases.items():
        assert indefinite_article(phrase) == article, phrase
    with pytest.raises(ValueError):
        indefinite_article("  ")


def test_prompt_bank_expansion_counts():
    bank = PromptBank(TEMPLATES, {"angry": SYNONYMS["angry"]})
    prompts = bank.prompts("angry")
    assert len(prompts) == 55 == len(set(prompts))
    assert bank.classes == ["angry"]
    assert "An angry voice." in prompts
    assert "A furious voice." in prompts
    assert "Someone speaking in an irritated way." in prompts
    assert "Angry speech." in prompts  # capitalised
    assert "An upset delivery." in prompts
    assert "The speaker sounds harsh." in prompts
    for prompt in prompts:
        _check_grammar(prompt)


def test_prompt_bank_phrase_rule():
    bank = PromptBank(TEMPLATES, SYNONYMS)
    awe = bank.prompts("awe")
    # 3 phrases -> one prompt each; 2 adjectives x 11 templates
    assert len(awe) == 3 + 2 * 11
    for phrase in ("in awe", "with wonder", "spoken reverently"):
        assert f"Speech that is {phrase}." in awe
        assert not any(
            phrase in p and not p.startswith("Speech that is") for p in awe
        )
    assert "An amazed voice." in awe
    # "indignant" starts with the letters "in" but is an adjective
    odd = bank.prompts("odd")
    assert "An indignant voice." in odd and "A unique voice." in odd
    assert "An honest delivery." in odd and "A one-sided voice." in odd
    assert len(odd) == 55
    for prompt in awe + odd:
        _check_grammar(prompt)


def test_prompt_bank_explicit_article_and_custom_phrase_templates():
    bank = PromptBank(
        ["It is {a} {style} one.", "{A} {style} one."],
        {"c": ["eager", "with joy"]},
        phrase_templates=["Spoken {style}.", "Said {style}."],
    )
    assert bank.prompts("c") == [
        "It is an eager one.",
        "An eager one.",
        "Spoken with joy.",
        "Said with joy.",
    ]


def test_prompt_bank_sample_is_seeded_and_uniform():
    bank = PromptBank(TEMPLATES, SYNONYMS)
    draws = [bank.sample("angry", np.random.default_rng(3)) for _ in range(2)]
    assert draws[0] == draws[1]
    rng = random.Random(0)
    samples = [bank.sample("angry", rng) for _ in range(3000)]
    assert set(samples) <= set(bank.prompts("angry"))
    assert len(set(samples)) > 50  # nearly all 55 pairs are drawn
    # phrase synonyms always use the phrase template
    awe = [bank.sample("awe", rng) for _ in range(2000)]
    share = sum(p.startswith("Speech that is") for p in awe) / len(awe)
    # 3/5 phrase synonyms + 2/5 adjectives x 1/11 "Speech that is" template
    assert abs(share - (3 / 5 + 2 / 5 / 11)) < 0.05


def test_prompt_bank_errors():
    with pytest.raises(ValueError, match="style"):
        PromptBank(["No placeholder."], SYNONYMS)
    with pytest.raises(ValueError, match="placeholder"):
        PromptBank(["A {style} {mood}."], SYNONYMS)
    with pytest.raises(ValueError, match="synonyms"):
        PromptBank(TEMPLATES, {"x": []})
    bank = PromptBank(TEMPLATES, SYNONYMS)
    with pytest.raises(ValueError, match="sleepy"):
        bank.prompts("sleepy")
    with pytest.raises(TypeError, match="rng"):
        bank.sample("angry", rng=42)


def test_prompt_bank_split_is_disjoint():
    bank = PromptBank(TEMPLATES, SYNONYMS)
    train, heldout = bank.split(3, 2, seed=1)
    assert len(train.templates) == 8 and len(heldout.templates) == 3
    for cls in bank.classes:
        assert len(heldout.synonyms[cls]) == 2
        assert not set(train.synonyms[cls]) & set(heldout.synonyms[cls])
        assert not set(train.prompts(cls)) & set(heldout.prompts(cls))
    with pytest.raises(ValueError):
        bank.split(11, 1)


@pytest.mark.parametrize("bank", BANKS)
def test_descriptions_are_grammatical_and_labelled(bank):
    describer = StyleDescriber(bank)
    rng = np.random.default_rng(0)
    for _ in range(3000):
        factors = _random_factors(rng)
        text, labels = describer.describe_with_labels(factors, rng)
        _check_grammar(text)
        mentioned = {
            f: STYLE_FACTORS[f][label]
            for f, label in zip(STYLE_FACTORS, labels, strict=True)
            if label != -1
        }
        assert mentioned, text
        for factor, value in mentioned.items():
            assert value == factors[factor]
        # the text names exactly the labelled factor values
        assert _mentions(text, bank) == {
            f: {v} for f, v in mentioned.items()
        }, text


def test_subset_and_labels():
    describer = StyleDescriber("train")
    factors = {
        "sex": "female",
        "pitch": "high",
        "rate": "slow",
        "range": "animated",
        "phonation": "modal",
        "spk_id": "ignored",
    }
    rng = np.random.default_rng(5)
    for subset in (["rate"], ["sex", "pitch"], list(STYLE_FACTORS)):
        text, labels = describer.describe_with_labels(factors, rng, subset)
        assert labels == factor_labels({f: factors[f] for f in subset})
        assert set(_mentions(text, "train")) == set(subset), text
    assert describer.describe(factors, np.random.default_rng(1)) == (
        describer.describe(factors, np.random.default_rng(1))
    )
    with pytest.raises(ValueError, match="timbre"):
        describer.describe(factors, rng, subset=["timbre"])
    with pytest.raises(ValueError, match="empty"):
        describer.describe(factors, rng, subset=[])
    with pytest.raises(ValueError, match="loud"):
        describer.describe({"phonation": "loud"}, rng)
    with pytest.raises(ValueError, match="bank"):
        StyleDescriber("test")


def test_factor_labels():
    assert factor_labels({}) == [-1] * 5
    assert factor_labels(
        {
            "phonation": "whispered",
            "range": "animated",
            "sex": "male",
            "pitch": "mid",
            "rate": "normal",
        }
    ) == [0, 1, 1, 2, 1]
    with pytest.raises(ValueError, match="age"):
        factor_labels({"age": "old"})


def test_banks_are_disjoint():
    # wordings: no value shares a phrase between the banks
    for factor, values in _VOCAB.items():
        for value, roles in values.items():
            train = {w for r in roles.values() for w in r["train"]}
            held = {w for r in roles.values() for w in r["heldout"]}
            assert not train & held, (factor, value)
    # every description mentioning one factor, exhaustively
    for factor, values in STYLE_FACTORS.items():
        for value in values:
            train = set(class_prompts(factor, value, "train"))
            held = set(class_prompts(factor, value, "heldout"))
            assert not train & held
    # two factors, exhaustively
    describers = {bank: StyleDescriber(bank) for bank in BANKS}
    for f1, f2 in itertools.combinations(STYLE_FACTORS, 2):
        factors = {f1: STYLE_FACTORS[f1][-1], f2: STYLE_FACTORS[f2][0]}
        train = set(describers["train"].all_descriptions(factors))
        held = set(describers["heldout"].all_descriptions(factors))
        assert len(train) > 50 and len(held) > 50
        assert not train & held
    # random descriptions of random subsets
    rng = np.random.default_rng(11)
    samples = {bank: set() for bank in BANKS}
    for _ in range(4000):
        factors = _random_factors(rng)
        for bank in BANKS:
            samples[bank].add(describers[bank].describe(factors, rng))
    assert len(samples["train"]) > 3000 and len(samples["heldout"]) > 3000
    assert not samples["train"] & samples["heldout"]


@pytest.mark.parametrize("bank", BANKS)
def test_class_prompts_mention_only_their_factor(bank):
    for factor, values in STYLE_FACTORS.items():
        for value in values:
            prompts = class_prompts(factor, value, bank)
            assert len(prompts) >= 10
            assert len(set(prompts)) == len(prompts)
            for prompt in prompts:
                _check_grammar(prompt)
                assert _mentions(prompt, bank) == {factor: {value}}, prompt
    whispered = class_prompts("phonation", "whispered", "train")
    assert "Someone whispering." in whispered


def test_combo_prompts_mention_all_given_factors():
    factors = {"sex": "male", "pitch": "low", "range": "monotone"}
    for bank in BANKS:
        texts = combo_prompts(factors, 12, np.random.default_rng(2), bank)
        assert len(texts) == len(set(texts)) == 12
        for text in texts:
            _check_grammar(text)
            assert _mentions(text, bank) == {f: {v} for f, v in factors.items()}
        again = combo_prompts(factors, 12, np.random.default_rng(2), bank)
        assert again == texts
    # "A male voice." and the like: fewer distinct texts than asked
    few = combo_prompts({"sex": "male"}, 40, np.random.default_rng(0))
    assert len(few) == 40 and len(set(few)) == 13
    with pytest.raises(ValueError, match="n must"):
        combo_prompts(factors, 0)


def test_describer_examples_from_the_brief():
    describer = StyleDescriber("train")
    brief = [
        (
            {
                "sex": "male",
                "rate": "fast",
                "pitch": "low",
                "range": "monotone",
            },
            "A man speaking quickly in a low, flat voice.",
        ),
        ({"phonation": "whispered"}, "Someone whispering."),
        (
            {"sex": "female", "pitch": "high", "rate": "slow"},
            "A woman with a high-pitched voice, talking slowly.",
        ),
    ]
    for factors, text in brief:
        assert text in describer.all_descriptions(factors)


def test_modal_is_rarely_mentioned_and_unobservable_factors():
    rng = np.random.default_rng(4)
    describer = StyleDescriber("train")
    counts = {"modal": 0, "whispered": 0}
    for _ in range(3000):
        factors = _random_factors(rng)
        _, labels = describer.describe_with_labels(factors, rng)
        counts[factors["phonation"]] += labels[-1] != -1
    # whispered: mentioned whenever drawn (3/5 on average); modal: 1/4 of that
    assert 0.5 < counts["whispered"] / 1500 < 0.7
    assert counts["modal"] < 0.4 * counts["whispered"]

    masked = StyleDescriber("train", unobservable=UNOBSERVABLE_FACTORS)
    seen_pitch = {"modal": 0, "whispered": 0}
    for _ in range(1000):
        factors = _random_factors(rng)
        _, labels = masked.describe_with_labels(factors, rng)
        seen_pitch[factors["phonation"]] += labels[1] != -1
        if factors["phonation"] == "whispered":
            assert labels[1] == labels[3] == -1
    assert seen_pitch["whispered"] == 0 and seen_pitch["modal"] > 100


def test_python_random_is_accepted_and_seeded():
    describer = StyleDescriber("heldout")
    factors = {"sex": "female", "rate": "fast", "phonation": "whispered"}
    a = [describer.describe(factors, random.Random(9)) for _ in range(3)]
    assert len(set(a)) == 1


def _describe_items(items, **kwargs):
    from speechbrain.dataio.dataset import DynamicItemDataset

    from speechbrain_style.corpora.stylesynth.factors import (
        make_description_pipeline,
    )

    data = DynamicItemDataset(
        items,
        dynamic_items=[make_description_pipeline(**kwargs)],
        output_keys=["description", "text_labels"],
    )
    return [data[i] for i in range(len(data))]


def test_description_pipeline_quotes_the_transcript():
    transcript = "The market square is busy on Saturday mornings."
    factors = {"sex": "male", "pitch": "low", "rate": "slow"}
    factors.update(range="monotone", phonation="modal")
    items = {f"u{i}": dict(factors, text=transcript) for i in range(400)}
    random.seed(3)
    quoted = _describe_items(items, transcript_probability=0.5)
    with_quote = [
        out["description"]
        for out in quoted
        if f'"{transcript}"' in out["description"]
    ]
    # about half quote it, on either side, and the labels are unchanged
    assert 150 < len(with_quote) < 250
    assert any(d.startswith('"') for d in with_quote)
    assert any(d.endswith('"') for d in with_quote)
    for out in quoted:
        text = out["description"].replace(f'"{transcript}"', "").strip()
        assert _mentions(text, "train") == {
            f: {STYLE_FACTORS[f][label]}
            for f, label in zip(
                STYLE_FACTORS, out["text_labels"].tolist(), strict=True
            )
            if label != -1
        }, out["description"]
    # off by default: the transcript is not even read
    plain = _describe_items(dict.fromkeys(items, factors))
    assert not any('"' in out["description"] for out in plain)
    with pytest.raises(ValueError, match="transcript_probability"):
        _describe_items(items, transcript_probability=1.5)
