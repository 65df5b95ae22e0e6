"""Description retrieval (both ways) and zero-shot field accuracy."""

import itertools
import math
import re

import numpy as np
import pytest
import torch

from speechbrain_style.evaluation.descriptions import (
    DescriptionRetrievalEvaluator,
    TemplatePrompts,
    chance_recall,
)
from speechbrain_style.evaluation.retrieval import format_table

WORDS = ["man", "woman", "whisper", "loud", "slow", "fast"]


def _encode(texts):
    """Bag of the WORDS each text contains, L2-normalised."""
    rows = []
    for text in texts:
        tokens = re.findall(r"[a-z]+", text.lower())
        vec = [
            float(any(token.startswith(word) for token in tokens))
            for word in WORDS
        ]
        rows.append(vec if any(vec) else [1.0] * len(WORDS))
    return torch.nn.functional.normalize(torch.tensor(rows), dim=1)


ITEMS = [
    {
        "id": "a",
        "descriptions": ["A man.", "A man, slow."],
        "sex": "man",
        "tags": ["slow"],
    },
    {
        "id": "b",
        "descriptions": ["A woman whispering."],
        "sex": "woman",
        "tags": ["whisper"],
    },
    {
        "id": "c",
        "descriptions": ["a man", "A man, loud and fast."],
        "sex": "man",
        "tags": ["loud", "fast"],
    },
    {
        "id": "d",
        "descriptions": ["A woman, loud and fast."],
        "sex": None,
        "tags": ["loud", "fast"],
    },
]


def test_chance_recall_matches_enumeration():
    for gallery, relevant, k in [(6, 2, 1), (6, 2, 3), (7, 3, 2)]:
        hits = 0
        combos = list(itertools.permutations(range(gallery), k))
        for top in combos:
            hits += any(i < relevant for i in top)
        assert math.isclose(
            chance_recall(relevant, gallery, k), hits / len(combos)
        )


def test_identical_descriptions_share_their_relevance():
    evaluator = DescriptionRetrievalEvaluator()
    texts, relevance = evaluator.gallery(ITEMS)
    assert texts == [
        "A man.",
        "A man, slow.",
        "A woman whispering.",
        "A man, loud and fast.",
        "A woman, loud and fast.",
    ]
    # "A man." and "a man" are one description, relevant to a and c
    assert relevance[0].tolist() == [True, False, True, False]
    assert relevance.sum() == 6


def test_perfect_and_shuffled_models():
    speech = _encode(
        ["man slow", "woman whisper", "man loud fast", "woman loud fast"]
    )
    prompts = TemplatePrompts(["A {style} voice."])
    evaluator = DescriptionRetrievalEvaluator(
        zero_shot_fields=["sex", "tags"], prompt_fn=prompts
    )
    res = evaluator.evaluate(speech, ITEMS, _encode)
    desc = res["fields"]["descriptions"]["descriptions"]
    assert desc["s2t"]["R@1"] == 1.0
    assert desc["t2s"]["R@1"] == 1.0
    # chance: "a man" has 2 relevant of 4 recordings; the others 1 of 4
    assert math.isclose(desc["t2s"]["chance_R@1"], (0.5 + 0.25 * 4) / 5)
    sex = res["fields"]["descriptions"]["sex"]
    assert sex["num_items"] == 3  # d has no sex: left out
    assert sex["s2t"]["accuracy"] == 1.0
    tags = res["fields"]["descriptions"]["tags"]
    assert tags["multi_label"] and tags["s2t"]["accuracy"] == 1.0
    assert tags["per_class_accuracy"]["fast"] == {
        "accuracy": 1.0,
        "num_items": 2,
    }
    # chance accuracy of tags: |T| / 4 classes
    assert math.isclose(tags["s2t"]["chance_accuracy"], (1 + 1 + 2 + 2) / 4 / 4)
    assert res["summary"]["descriptions"]["sex_accuracy"] == 1.0
    table = format_table(res)
    assert "descriptions" in table and "ZS acc" in table
    assert "Per-class zero-shot accuracy, tags:" in table
    # a model that swaps the two women and the two men fails
    swapped = speech[[2, 3, 0, 1]]
    bad = evaluator.evaluate(swapped, ITEMS, _encode)
    assert bad["summary"]["descriptions"]["s2t_R@1"] < 0.5


def test_multi_label_hits_need_the_tag_in_the_top_count():
    """A recording with tags {loud, fast} is right for "loud" only when
    "loud" ranks in its top 2; a single-label one needs the top 1."""
    items = [
        {"id": "x", "descriptions": ["x"], "tags": ["loud", "fast"]},
        {"id": "y", "descriptions": ["y"], "tags": ["slow"]},
    ]
    prompts = {"loud": [1, 0, 0], "fast": [0, 1, 0], "slow": [0, 0, 1]}

    def encode(texts):
        return torch.tensor(
            [prompts.get(t, [0.577, 0.577, 0.577]) for t in texts],
            dtype=torch.float32,
        )

    evaluator = DescriptionRetrievalEvaluator(
        zero_shot_fields=["tags"], prompt_fn=lambda field, value: [value]
    )
    # x: loud 0.9 > slow 0.5 > fast 0.1 -> loud hit, fast miss
    speech = torch.tensor([[0.9, 0.1, 0.5], [0.0, 0.2, 0.8]])
    res = evaluator.evaluate(speech, items, encode)["fields"]["descriptions"]
    per_class = res["tags"]["per_class_accuracy"]
    assert per_class["loud"]["accuracy"] == 1.0
    assert per_class["fast"]["accuracy"] == 0.0
    assert per_class["slow"]["accuracy"] == 1.0
    assert math.isclose(res["tags"]["s2t"]["accuracy"], (0.5 + 1.0) / 2)
    assert math.isclose(res["tags"]["s2t"]["balanced_accuracy"], 2 / 3)


def test_random_embeddings_score_near_chance():
    rng = np.random.default_rng(0)
    items = [
        {"id": str(i), "descriptions": [f"d{i % 40}", f"e{i % 7}"]}
        for i in range(200)
    ]
    texts = sorted({d for item in items for d in item["descriptions"]})
    table = {
        t: torch.randn(16, generator=torch.Generator().manual_seed(k))
        for k, t in enumerate(texts)
    }

    def encode(batch):
        return torch.nn.functional.normalize(
            torch.stack([table[t] for t in batch]), dim=1
        )

    speech = torch.nn.functional.normalize(
        torch.from_numpy(rng.standard_normal((200, 16))).float(), dim=1
    )
    res = DescriptionRetrievalEvaluator().evaluate(speech, items, encode)
    row = res["fields"]["descriptions"]["descriptions"]
    for direction in ("t2s", "s2t"):
        chance = row[direction]["chance_R@10"]
        assert abs(row[direction]["R@10"] - chance) < 0.12, (direction, row)


def test_bad_items_are_errors():
    evaluator = DescriptionRetrievalEvaluator(
        zero_shot_fields=["sex"], prompt_fn=lambda f, v: [v]
    )
    with pytest.raises(ValueError, match="non-empty list"):
        evaluator.evaluate(
            _encode(["man", "woman"]),
            [{"id": "a", "descriptions": []}, ITEMS[0]],
            _encode,
        )
    with pytest.raises(ValueError, match="no field 'sex'"):
        evaluator.evaluate(
            _encode(["man"]), [{"id": "a", "descriptions": ["x"]}], _encode
        )
    with pytest.raises(ValueError, match="need a prompt_fn"):
        DescriptionRetrievalEvaluator(zero_shot_fields=["sex"])


def test_template_prompts_use_field_templates_and_value_words():
    prompts = TemplatePrompts(
        ["A {style} voice."],
        field_templates={"pitch": ["Speech with {style} pitch."]},
        value_words={"gender": {"M": "male"}},
    )
    assert prompts("gender", "M") == ["A male voice."]
    assert prompts("pitch", "high") == ["Speech with high pitch."]
    assert prompts("emotion", "angry") == ["An angry voice."]
    assert prompts("accent", "en_us") == ["An en us voice."]
