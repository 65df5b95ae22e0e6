"""Tests of speechbrain_style/evaluation/dimensional.py."""

import os

import numpy as np
import pytest
import torch

from speechbrain_style.evaluation.dimensional import DimensionalEvaluator
from speechbrain_style.evaluation.ordinal import (
    mmd_rbf,
    ordinal_consistency_over_queries,
)
from speechbrain_style.prompts.dimensional import DimensionalDescriber

BINS = {"valence": [2.0, 4.0], "arousal": [2.0, 4.0]}  # 3 levels, 1-5 scale


def _level_encoder(describer, bank):
    """A toy text encoder: one-hot of the described (valence, arousal)
    cell, found from the level synonyms in the text."""
    cells = {}
    for v in range(3):
        for a in range(3):
            for text in describer.prompts_for_levels(v, a, bank):
                cells[text] = 3 * v + a

    def encode(texts):
        out = torch.zeros(len(texts), 9)
        for i, text in enumerate(texts):
            out[i, cells[text]] = 1.0
        return out

    return encode


def _items(values):
    return [
        {"id": f"u{i}", "valence": v, "arousal": a}
        for i, (v, a) in enumerate(values)
    ]


def test_perfect_space_has_no_modality_gap_and_full_recall():
    describer = DimensionalDescriber(bins=BINS)
    ev = DimensionalEvaluator(
        describer=describer, banks=["train"], max_gap_items=50
    )
    encode = _level_encoder(describer, "train")
    rng = np.random.default_rng(0)
    values = rng.uniform(1.0, 5.0, size=(30, 2))
    items = _items(values.tolist())
    # Each speech embedding IS its cell's one-hot text embedding.
    speech = torch.zeros(30, 9)
    for i, (v, a) in enumerate(values):
        cell = 3 * describer.level("valence", v) + describer.level("arousal", a)
        speech[i, cell] = 1.0
    res = ev.evaluate(speech, items, encode)
    summary = res["summary"]["train"]
    assert summary["modality_MMD"] == pytest.approx(0.0, abs=1e-9)
    assert summary["modality_Wasserstein"] == pytest.approx(0.0, abs=1e-6)
    for dim in ("valence", "arousal"):
        assert res["fields"]["train"][dim]["t2s"]["mAP@10"] == 1.0
        assert res["fields"]["train"][dim]["s2t"]["R@1"] == 1.0


def test_value_tau_matches_its_definition():
    describer = DimensionalDescriber(bins=BINS)
    ev = DimensionalEvaluator(
        describer=describer, banks=["heldout"], max_prompts_per_level=10**6
    )
    encode = _level_encoder(describer, "heldout")
    torch.manual_seed(0)
    values = [(1.0, 3.0), (1.5, 4.5), (3.0, 1.0), (3.5, 2.5), (4.5, 4.9)]
    items = _items(values)
    speech = torch.nn.functional.normalize(torch.randn(5, 9), dim=1)
    res = ev.evaluate(speech, items, encode)
    # By hand: valence levels of the items 0, 0, 1, 1, 2; each level's query
    # is the mean of its prompts' one-hots (all prompts of the three arousal
    # cells: weights = prompts per cell), the centre c is the median valence
    # of the level's items.
    queries = torch.zeros(3, 9)
    for level in range(3):
        for a in range(3):
            queries[level, 3 * level + a] = len(
                describer.prompts_for_levels(level, a, "heldout")
            )
    queries = torch.nn.functional.normalize(queries, dim=1)
    centres = [1.25, 3.25, 4.5]
    valence = np.array([v for v, _ in values])
    expected = ordinal_consistency_over_queries(
        queries, centres, speech, valence, "dot"
    )
    got = res["fields"]["heldout"]["valence"]["t2s"]["value_tau"]
    assert got == pytest.approx(expected, abs=1e-6)
    # ... and the modality gap is the MMD of the speech vs the paired texts
    texts = ev.paired_descriptions(
        items,
        {"valence": valence, "arousal": np.array(values)[:, 1]},
        "heldout",
    )
    assert res["summary"]["heldout"]["modality_MMD"] == pytest.approx(
        mmd_rbf(speech.numpy(), encode(texts).numpy()), abs=1e-9
    )


def test_level_prompts_describe_their_level_and_are_capped():
    describer = DimensionalDescriber()  # 5 levels per dimension
    ev = DimensionalEvaluator(describer=describer, max_prompts_per_level=8)
    name = ev.level_names["arousal"][4]
    prompts = ev.level_prompts("arousal", name, "train")
    assert len(prompts) == 8
    assert prompts == ev.level_prompts("arousal", name, "train")  # seeded
    synonyms = describer.synonyms("arousal", 4, "train")
    assert all(any(s in p for s in synonyms) for p in prompts)
    with pytest.raises(ValueError, match="arousal level"):
        ev.level_prompts("arousal", "not a level", "train")


def test_plots_and_errors(tmp_path):
    describer = DimensionalDescriber(bins=BINS)
    ev = DimensionalEvaluator(
        describer=describer, banks=["train"], plot_folder=str(tmp_path)
    )
    encode = _level_encoder(describer, "train")
    items = _items([(1.0, 1.0), (3.0, 3.0), (5.0, 5.0)])
    speech = torch.eye(9)[[0, 4, 8]]
    res = ev.evaluate(speech, items, encode, trials=False)
    assert res["plots"] == {}  # plots only with the test evaluation
    res = ev.evaluate(speech, items, encode, trials=True, trials_tag="t")
    for dim in ("valence", "arousal"):
        path = res["plots"][f"{dim}_train"]
        assert os.path.basename(path) == f"similarity_vs_{dim}_t_train.png"
        assert os.path.getsize(path) > 1000
    bad = _items([(1.0, 1.0), (None, 3.0), (5.0, 5.0)])
    with pytest.raises(ValueError, match="'u1' has no valence"):
        ev.evaluate(speech, bad, encode)
    with pytest.raises(TypeError, match="DimensionalDescriber"):
        DimensionalEvaluator(describer="train")
    with pytest.raises(ValueError, match="max_gap_items"):
        DimensionalEvaluator(max_gap_items=1)
