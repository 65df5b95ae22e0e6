"""Tests of the retrieval evaluator (prompt ensembles, both directions)."""

import json

import pytest
import torch

from speechbrain_style.evaluation.retrieval import (
    RetrievalEvaluator,
    format_table,
    prompt_ensemble,
    save_results,
)

# A 2-d embedding space: axis 0 = "loud", axis 1 = "soft".
VECTORS = {"loud": [1.0, 0.0], "soft": [0.0, 1.0]}


def encode(texts):
    """Text embedding: the axis of the word the prompt contains."""
    return torch.tensor([VECTORS[t.split()[0]] for t in texts])


def prompts(field, value, bank):
    return [f"{value} voice", f"{value} speech"]


def make_items():
    # 3 loud items, 2 soft ones
    items = [{"id": f"u{i}", "level": lvl} for i, lvl in enumerate("LLLSS")]
    for item in items:
        item["level"] = {"L": "loud", "S": "soft"}[item["level"]]
    return items


def test_prompt_ensemble_is_mean_cosine():
    prompts_emb = torch.tensor([[3.0, 0.0], [0.0, 0.5]])
    speech = torch.nn.functional.normalize(torch.tensor([[1.0, 2.0]]), dim=-1)
    query = prompt_ensemble(prompts_emb)
    cosines = torch.nn.functional.cosine_similarity(
        speech.expand(2, -1), prompts_emb
    )
    assert torch.allclose(speech @ query, cosines.mean())


def test_hand_worked_metrics_both_directions():
    items = make_items()
    # u0 is soft-sounding although labelled loud: the only mistake.
    speech = torch.nn.functional.normalize(
        torch.tensor(
            [[0.2, 1.0], [1.0, 0.1], [1.0, 0.3], [0.1, 1.0], [0.0, 1.0]]
        ),
        dim=-1,
    )
    ev = RetrievalEvaluator(["level"], prompts, banks=["train"], ks=(1, 2))
    res = ev.evaluate(speech, items, encode)
    field = res["fields"]["train"]["level"]
    assert field["classes"] == ["loud", "soft"]
    # text->speech: "loud" ranks u1 first (relevant), "soft" ranks u4 first.
    assert field["t2s"]["R@1"] == 1.0
    # loud query: ranking u1, u2, u0(0.196), u3(0.0995)... first 3 relevant
    # -> AP@10 = 1; soft query: u4, u3, u0 (irrelevant, rank 3): AP = 1.
    assert field["t2s"]["mAP@10"] == pytest.approx(1.0)
    # speech->text: u0 (loud) is closer to "soft": 4 of 5 correct at R@1.
    assert field["s2t"]["R@1"] == pytest.approx(0.8)
    assert field["s2t"]["R@2"] == pytest.approx(1.0)
    # mean rank of the right class: (2 + 1 + 1 + 1 + 1) / 5
    assert field["s2t"]["mean_rank"] == pytest.approx(1.2)
    # per class: 2 of the 3 loud utterances find "loud" first, both soft do
    assert field["per_class_s2t"]["loud"]["R@1"] == pytest.approx(2 / 3)
    assert field["per_class_s2t"]["soft"]["R@1"] == 1.0
    summary = res["summary"]["train"]
    assert summary["s2t_R@1"] == pytest.approx(0.8)


def test_trials_are_saved_and_reused(tmp_path):
    torch.manual_seed(0)
    n = 30
    items = [
        {"id": f"u{i:02d}", "level": "loud" if i % 3 else "soft"}
        for i in range(n)
    ]
    speech = torch.nn.functional.normalize(
        torch.tensor([VECTORS[it["level"]] for it in items], dtype=torch.float)
        + 0.01 * torch.randn(n, 2),
        dim=-1,
    )
    ev = RetrievalEvaluator(
        ["level"],
        prompts,
        banks=["train", "heldout"],
        num_trials=50,
        num_distractors=5,
        trials_folder=str(tmp_path),
    )
    res = ev.evaluate(speech, items, encode, trials=True)
    trials_file = tmp_path / "trials_test_level.json"
    assert trials_file.is_file()
    before = trials_file.read_bytes()
    # a perfect model: every positive beats every distractor
    assert res["fields"]["train"]["level"]["trials"]["average"]["R@1"] == 1.0
    # a reversed model (speech on the wrong axis) never wins a trial
    res_bad = ev.evaluate(speech.flip(-1), items, encode, trials=True)
    bad = res_bad["fields"]["train"]["level"]["trials"]["average"]
    assert bad["R@1"] == 0.0
    assert trials_file.read_bytes() == before  # reused, not redrawn
    table = format_table(res)
    assert "prompt bank: heldout" in table and "level" in table
    paths = save_results(res, str(tmp_path / "out"))
    with open(paths["plot"], "rb") as fin:
        assert fin.read(8) == b"\x89PNG\r\n\x1a\n"
    with open(paths["json"]) as fin:
        assert json.load(fin)["summary"]["train"]["trial_R@1"] == 1.0


def test_bad_inputs():
    ev = RetrievalEvaluator(["level"], prompts)
    with pytest.raises(ValueError, match="items but"):
        ev.evaluate(torch.zeros(2, 2), make_items(), encode)
    with pytest.raises(ValueError, match="no field 'level'"):
        ev.evaluate(torch.zeros(1, 2), [{"id": "a"}], encode)
    with pytest.raises(ValueError, match="at least one field"):
        RetrievalEvaluator([], prompts)
    with pytest.raises(ValueError, match=r"unknown banks \['tran'\]"):
        ev.evaluate(torch.zeros(1, 2), make_items()[:1], encode, ["tran"])
    with pytest.raises(ValueError, match=r"must be \(N, D\)"):
        ev.evaluate(torch.zeros(2), make_items()[:2], encode)


def test_every_task_evaluator_shares_the_evaluator_interface():
    import importlib

    from speechbrain_style.evaluation.base import Evaluator

    for module, name in (
        ("retrieval", "RetrievalEvaluator"),
        ("speaker", "SpeakerRetrievalEvaluator"),
        ("caption", "CaptionRetrievalEvaluator"),
        ("descriptions", "DescriptionRetrievalEvaluator"),
        ("dimensional", "DimensionalEvaluator"),
    ):
        cls = getattr(
            importlib.import_module(f"speechbrain_style.evaluation.{module}"),
            name,
        )
        assert issubclass(cls, Evaluator), name
        # the checks live once in the base; the task implements score()
        assert cls.evaluate is Evaluator.evaluate, name
        assert cls.score is not Evaluator.score, name


def test_ordinal_consistency_of_ordered_classes():
    # 3 levels on a line: level k items sit at angle k * 45 degrees, the
    # query of level k too: similarity falls with the level distance.
    import math

    levels = ["low", "mid", "high"]
    angle = {v: i * math.pi / 4 for i, v in enumerate(levels)}

    def encode(texts):
        return torch.tensor(
            [
                [math.cos(angle[t.split()[0]]), math.sin(angle[t.split()[0]])]
                for t in texts
            ]
        )

    def level_prompts(field, value, bank):
        return [f"{value} pitch"]

    items = [{"id": f"u{i}", "pitch": levels[i % 3]} for i in range(9)]
    speech = encode([f"{it['pitch']} x" for it in items])
    ordered = RetrievalEvaluator(
        ["pitch"],
        level_prompts,
        banks=["train"],
        ordinal_fields={"pitch": levels},
    )
    res = ordered.evaluate(speech, items, encode)
    assert res["fields"]["train"]["pitch"]["t2s"]["ordinal_tau"] > 0.7
    # the same embeddings scored against a scrambled order do worse
    scrambled = RetrievalEvaluator(
        ["pitch"],
        level_prompts,
        banks=["train"],
        ordinal_fields={"pitch": ["mid", "low", "high"]},
    )
    res2 = scrambled.evaluate(speech, items, encode)
    assert (
        res2["fields"]["train"]["pitch"]["t2s"]["ordinal_tau"]
        < res["fields"]["train"]["pitch"]["t2s"]["ordinal_tau"]
    )
