"""Cross-modal query fusion: hand-worked values, StyleIndex and the CLI."""

import json
import math

import pytest
import torch

from speechbrain_style.retrieval.fusion import fuse_queries, neighbour_weights
from speechbrain_style.retrieval.index import StyleIndex

# Reference set of the "other" modality and a query, in 2-D.
REFERENCE = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.6, 0.8]])
QUERY = torch.tensor([[0.8, 0.6]])
# cos(QUERY, REFERENCE) = [0.8, 0.6, -0.8, 0.96]


def test_hand_worked_similarity_weighting():
    # top 3: r4 (0.96), r1 (0.8), r2 (0.6); weights s / 2.36
    # sum = (0.96 * 0.6 + 0.8, 0.96 * 0.8 + 0.6) / 2.36 = (1.376, 1.368) / 2.36
    fused = fuse_queries(QUERY, REFERENCE, n=3)
    expected = torch.tensor([[1.376, 1.368]]) / math.sqrt(3.7648)
    torch.testing.assert_close(fused, expected)
    # r3 has a negative similarity: its weight is clipped to 0.
    torch.testing.assert_close(fuse_queries(QUERY, REFERENCE, n=4), expected)
    # a scaled query and a single (D,) query give the same result
    torch.testing.assert_close(fuse_queries(5 * QUERY[0], REFERENCE, 3), fused)


def test_uniform_weighting_and_temperature():
    # (r4 + r1 + r2) / 3 = (1.6, 1.8) / 3, normalised
    uniform = fuse_queries(QUERY, REFERENCE, n=3, weighting="uniform")
    expected = torch.tensor([[1.6, 1.8]]) / math.sqrt(5.8)
    torch.testing.assert_close(uniform, expected)
    similarity = fuse_queries(QUERY, REFERENCE, n=3)
    assert not torch.allclose(uniform, similarity, atol=1e-3)

    e = [math.exp(s / 0.1) for s in (0.96, 0.8, 0.6)]
    vec = torch.tensor(
        [e[0] * 0.6 + e[1], e[0] * 0.8 + e[2]], dtype=torch.float32
    )
    soft = fuse_queries(QUERY, REFERENCE, n=3, temperature=0.1)
    torch.testing.assert_close(soft, (vec / vec.norm()).unsqueeze(0))


def test_alpha_mixes_the_original_query():
    fused = fuse_queries(QUERY, REFERENCE, n=3)
    mixed = fuse_queries(QUERY, REFERENCE, n=3, alpha=0.5)
    expected = 0.5 * fused + 0.5 * QUERY
    torch.testing.assert_close(mixed, expected / expected.norm())
    torch.testing.assert_close(
        fuse_queries(QUERY, REFERENCE, n=3, alpha=1.0), QUERY
    )


def test_n_equal_one_is_the_nearest_neighbour():
    torch.manual_seed(0)
    queries = torch.randn(20, 6)
    reference = torch.nn.functional.normalize(torch.randn(30, 6), dim=1)
    nearest = (torch.nn.functional.normalize(queries) @ reference.T).argmax(1)
    for weighting in ("similarity", "uniform"):
        fused = fuse_queries(queries, reference, n=1, weighting=weighting)
        torch.testing.assert_close(fused, reference[nearest])
    # n larger than the reference set uses all of it
    all_mean = fuse_queries(QUERY, REFERENCE[:2], n=50, weighting="uniform")
    torch.testing.assert_close(all_mean, torch.tensor([[0.5, 0.5]]).sqrt())


def test_weights_fall_back_to_uniform_when_all_negative():
    weights = neighbour_weights(torch.tensor([[-0.2, -0.4]]))
    torch.testing.assert_close(weights, torch.tensor([[0.5, 0.5]]))


def test_bad_inputs_name_the_problem():
    with pytest.raises(ValueError, match="weighting"):
        fuse_queries(QUERY, REFERENCE, weighting="softmax")
    with pytest.raises(ValueError, match="n must"):
        fuse_queries(QUERY, REFERENCE, n=0)
    with pytest.raises(ValueError, match="dimension"):
        fuse_queries(QUERY, torch.ones(3, 4))
    with pytest.raises(ValueError, match="temperature"):
        fuse_queries(QUERY, REFERENCE, weighting="uniform", temperature=0.1)
    with pytest.raises(ValueError, match="alpha"):
        fuse_queries(QUERY, REFERENCE, alpha=2.0)
    with pytest.raises(ValueError, match="all-zero"):
        fuse_queries(torch.zeros(1, 2), REFERENCE)


def _index():
    items = [
        {"id": "r1", "wav": "1.wav", "metadata": {"sex": "m"}},
        {"id": "r2", "wav": "2.wav", "metadata": {"sex": "f"}},
        {"id": "r3", "wav": "3.wav", "metadata": {"sex": "f"}},
        {"id": "r4", "wav": "4.wav", "metadata": {"sex": "m"}},
    ]
    return StyleIndex(REFERENCE, items)


def test_fusion_through_style_index_search():
    index = _index()
    plain = index.search(QUERY, k=4)[0]
    fused_hits = index.search(QUERY, k=4, fusion_n=3)[0]
    fused = fuse_queries(QUERY, REFERENCE, n=3)[0]
    expected = sorted(
        ((float(fused @ row), f"r{i + 1}") for i, row in enumerate(REFERENCE)),
        reverse=True,
    )
    assert [h["id"] for h in fused_hits] == [name for _, name in expected]
    for hit, (score, _) in zip(fused_hits, expected, strict=True):
        assert hit["score"] == pytest.approx(score, abs=1e-6)
    # the scores are similarities to the fused query, not to the query
    assert [h["score"] for h in plain] != [h["score"] for h in fused_hits]

    # N = 1: the fused query is the nearest item itself, scoring 1.
    top = index.search(QUERY, k=1, fusion_n=1)[0][0]
    assert top["id"] == plain[0]["id"] == "r4"
    assert top["score"] == pytest.approx(1.0)

    # Fusion only uses the items that pass the filters: among the "f"
    # items, r2 (0.6) and r3 (-0.8) -> weights 1, 0 -> fused query = r2.
    hits = index.search(QUERY, k=2, filters={"sex": "f"}, fusion_n=2)[0]
    assert [(h["id"], round(h["score"], 4)) for h in hits] == [
        ("r2", 1.0),
        ("r3", 0.0),
    ]
    with pytest.raises(ValueError, match="fusion_n"):
        index.search(QUERY, k=1, fusion_n=0)
    with pytest.raises(ValueError, match="weighting"):
        index.search(QUERY, k=1, fusion_n=2, fusion_weighting="x")


def test_cli_search_with_fusion(tmp_path, capsys):
    from speechbrain_style.cli.main import main
    from speechbrain_style.corpora.stylesynth.synth import synthesize_corpus
    from speechbrain_style.inference.export import write_inference_folder
    from speechbrain_style.lobes import (
        ECAPASpeechEncoder,
        HFTextEncoder,
        ProjectionHead,
    )
    from tests.tiny_models import build_tiny_hf_text_encoder

    torch.manual_seed(0)
    text_dir = build_tiny_hf_text_encoder(str(tmp_path / "bert"), "bert")
    modules = {
        "speech_encoder": ECAPASpeechEncoder(
            n_mels=40, channels=[16, 16, 16, 16, 48], lin_neurons=16
        ),
        "speech_head": ProjectionHead(16, proj_size=8, num_transform_layers=1),
        "text_encoder": HFTextEncoder(text_dir, pooling="mean"),
        "text_head": ProjectionHead(32, proj_size=8, num_transform_layers=1),
    }
    for module in modules.values():
        module.eval()
    model_dir = str(tmp_path / "model")
    write_inference_folder(model_dir, modules, extra={"sample_rate": 16000})
    manifests = synthesize_corpus(
        str(tmp_path / "corpus"), num_utts=6, seed=1, progress=False
    )
    index_dir = str(tmp_path / "index")
    base = ["--model", model_dir]
    train = manifests["train"]
    main(["index", *base, "--manifest", train, "--out", index_dir, "--quiet"])
    capsys.readouterr()
    search = ["search", *base, "--index", index_dir, "--json", "-k", "3"]
    assert main([*search, "a calm voice"]) == 0
    plain = json.loads(capsys.readouterr().out)["hits"]
    assert main([*search, "--fusion", "1", "a calm voice"]) == 0
    fused = json.loads(capsys.readouterr().out)["hits"]
    # with N = 1 the fused query is the plain top hit itself
    assert fused[0]["id"] == plain[0]["id"]
    assert fused[0]["score"] == pytest.approx(1.0, abs=1e-5)
    assert main([*search, "--fusion", "0", "a calm voice"]) == 2
    assert "--fusion: must be a positive integer" in capsys.readouterr().err
