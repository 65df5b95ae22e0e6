"""Hand-worked tests of the caption (text-audio) retrieval evaluation."""

import pytest
import torch

from speechbrain_style.evaluation.caption import (
    CaptionRetrievalEvaluator,
    caption_relevance,
    caption_retrieval_metrics,
)
from speechbrain_style.evaluation.retrieval import format_table

# Gallery: clip A with 5 captions (Clotho-like), B with 1, C with 2.
CLIPS = ["A", "B", "C"]
CAPTIONS = ["A", "A", "A", "A", "A", "B", "C", "C"]


def _scores_from_rankings(audio_to_text=None, text_to_audio=None):
    """A (captions, clips) score matrix realising the given rankings.

    ``audio_to_text[clip]`` lists caption indices best first; unlisted
    pairs get low scores. ``text_to_audio`` overrides rows.
    """
    scores = torch.full((len(CAPTIONS), len(CLIPS)), -1.0)
    for j, order in (audio_to_text or {}).items():
        for rank, i in enumerate(order):
            scores[i, j] = 1.0 - rank * 0.01
    for i, order in (text_to_audio or {}).items():
        for rank, j in enumerate(order):
            scores[i, j] = 2.0 - rank * 0.01
    return scores


def test_relevance_matrix_and_errors():
    rel = caption_relevance(CAPTIONS, CLIPS)
    assert rel.sum(axis=0).tolist() == [5, 1, 2]
    assert rel.sum(axis=1).tolist() == [1] * 8
    with pytest.raises(ValueError, match="not in the gallery"):
        caption_relevance(["Z"], CLIPS)
    with pytest.raises(ValueError, match="unique"):
        caption_relevance(["A"], ["A", "A"])
    with pytest.raises(ValueError, match="without any caption"):
        caption_retrieval_metrics(torch.zeros(1, 2), ["A"], ["A", "B"])
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        caption_retrieval_metrics(torch.zeros(3, 3), ["A", "B"], CLIPS)


def test_audio_to_text_map_with_five_captions():
    # Clip A ranks the 8 captions: a, b, a, c, a, a, c, a (indices below).
    order_a = [0, 5, 1, 6, 2, 3, 7, 4]
    # B: its caption third; C: its captions 1st and 4th.
    order_b = [0, 1, 5, 2, 3, 4, 6, 7]
    order_c = [6, 0, 1, 7, 2, 3, 4, 5]
    scores = _scores_from_rankings({0: order_a, 1: order_b, 2: order_c})
    res = caption_retrieval_metrics(scores, CAPTIONS, CLIPS)["s2t"]
    # A: relevant at ranks 1, 3, 5, 6, 8 -> (1/1 + 2/3 + 3/5 + 4/6 + 5/8) / 5
    ap_a = (1 + 2 / 3 + 3 / 5 + 4 / 6 + 5 / 8) / 5
    ap_b = 1 / 3
    ap_c = (1 + 2 / 4) / 2
    assert res["mAP@10"] == pytest.approx((ap_a + ap_b + ap_c) / 3)
    assert ap_a == pytest.approx(0.711667, abs=1e-6)
    assert res["R@1"] == pytest.approx(2 / 3)  # A and C hit at rank 1
    assert res["R@5"] == pytest.approx(1.0)
    # fraction of the 8 relevant captions in each clip's top 1 / top 5:
    # top 1: A 1, B 0, C 1; top 5: A 3, B 1, C 2
    assert res["caption_recall@1"] == pytest.approx(2 / 8)
    assert res["caption_recall@5"] == pytest.approx(6 / 8)
    assert res["mean_rank"] == pytest.approx((1 + 3 + 1) / 3)


def test_audio_to_text_map_cut_at_k_divides_by_min_relevant_k():
    order_a = [0, 5, 1, 6, 2, 3, 7, 4]
    scores = _scores_from_rankings(
        {0: order_a, 1: [5, 0, 1, 2, 3, 4, 6, 7], 2: [6, 7, 0, 1, 2, 3, 4, 5]}
    )
    res = caption_retrieval_metrics(scores, CAPTIONS, CLIPS, map_k=5)["s2t"]
    # A's top 5: a b a c a -> (1 + 2/3 + 3/5) / min(5, 5); B: 1; C: 1
    ap_a = (1 + 2 / 3 + 3 / 5) / 5
    assert ap_a == pytest.approx(0.453333, abs=1e-6)
    assert res["mAP@5"] == pytest.approx((ap_a + 1 + 1) / 3)


def test_text_to_audio_map_is_the_reciprocal_rank_in_the_top_k():
    # caption i ranks the clips; its own clip at rank r
    orders = {
        0: [0, 1, 2],  # A first -> 1
        1: [1, 0, 2],  # A second -> 1/2
        2: [1, 2, 0],  # A third -> 1/3
        3: [0, 2, 1],
        4: [2, 0, 1],  # 1/2
        5: [1, 2, 0],  # B first -> 1
        6: [0, 1, 2],  # C third -> 1/3
        7: [2, 1, 0],  # C first -> 1
    }
    scores = _scores_from_rankings(text_to_audio=orders)
    res = caption_retrieval_metrics(scores, CAPTIONS, CLIPS, ks=(1, 2))["t2s"]
    rr = [1, 1 / 2, 1 / 3, 1, 1 / 2, 1, 1 / 3, 1]
    assert res["mAP@10"] == pytest.approx(sum(rr) / 8)
    assert res["R@1"] == pytest.approx(4 / 8)
    assert res["R@2"] == pytest.approx(6 / 8)
    # with a cut-off of 2, the two clips ranked third contribute 0
    cut = caption_retrieval_metrics(scores, CAPTIONS, CLIPS, map_k=2)["t2s"]
    assert cut["mAP@2"] == pytest.approx((sum(rr) - 2 / 3) / 8)


def test_ties_are_pessimistic():
    scores = torch.zeros(len(CAPTIONS), len(CLIPS))
    res = caption_retrieval_metrics(scores, CAPTIONS, CLIPS)
    assert res["t2s"]["R@1"] == 0.0
    assert res["t2s"]["mAP@10"] == pytest.approx(1 / 3)  # all ranked last
    # A's 5 captions ranked after the 3 others: ranks 4..8
    ap_a = (1 / 4 + 2 / 5 + 3 / 6 + 4 / 7 + 5 / 8) / 5
    assert res["s2t"]["mAP@10"] == pytest.approx(
        (ap_a + 1 / 8 + (1 / 7 + 2 / 8) / 2) / 3
    )


def test_evaluator_embeds_the_caption_gallery_and_formats_a_table():
    items = [
        {"id": "A", "captions": ["dog barking", "a dog", "dog", "dogs", "d"]},
        {"id": "B", "captions": ["rain on a roof"]},
    ]
    seen = []

    def encode(texts):
        seen.append(list(texts))
        return torch.tensor(
            [[0.0, 1.0] if "rain" in t else [1.0, 0.0] for t in texts]
        )

    audio = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    ev = CaptionRetrievalEvaluator(dataset="toy")
    res = ev.evaluate(audio, items, encode)
    assert seen == [items[0]["captions"] + items[1]["captions"]]
    summary = res["summary"]["captions"]
    assert summary["t2s_R@1"] == 1.0 and summary["s2t_mAP@10"] == 1.0
    assert summary[ev.selection_metric] == 1.0
    table = format_table(res)
    assert "toy" in table and "T>A R@1" in table and "A>T R@1" in table
    assert "2 clips, 6 captions" in table
    with pytest.raises(ValueError, match="non-empty list of captions"):
        ev.evaluate(audio, [items[0], {"id": "B", "captions": "x"}], encode)
    with pytest.raises(ValueError, match="2 items but 3"):
        ev.evaluate(torch.zeros(3, 2), items, encode)
