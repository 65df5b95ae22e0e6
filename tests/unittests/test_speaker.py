"""AAM speaker loss, LDA alignment, speaker retrieval metrics and t-SNE
maps: the speaker side of speaker-text retrieval."""

import math

import numpy as np
import pytest
import torch

from speechbrain_style.evaluation.plots import tsne_embed, tsne_plot
from speechbrain_style.evaluation.speaker import speaker_retrieval_metrics
from speechbrain_style.nnet.speaker_loss import AAMSpeakerLoss
from speechbrain_style.retrieval.alignment import lda_align


def test_aam_loss_matches_a_hand_computed_value():
    loss_fn = AAMSpeakerLoss(input_size=2, num_speakers=2, margin=0.2, scale=30)
    with torch.no_grad():
        loss_fn.weight.copy_(torch.tensor([[2.0, 0.0], [0.0, 0.5]]))
    embeddings = torch.tensor([[3.0, 4.0], [1.0, -1.0]])
    targets = torch.tensor([0, 1])
    # sample 1: cos = (0.6, 0.8), target 0: theta = acos(0.6)
    logits_1 = [30 * math.cos(math.acos(0.6) + 0.2), 30 * 0.8]
    loss_1 = -logits_1[0] + math.log(sum(math.exp(v) for v in logits_1))
    # sample 2: cos = (1/sqrt2, -1/sqrt2), target 1: theta = 3 pi / 4
    c = 1 / math.sqrt(2)
    logits_2 = [30 * c, 30 * math.cos(3 * math.pi / 4 + 0.2)]
    loss_2 = -logits_2[1] + math.log(sum(math.exp(v) for v in logits_2))
    loss = loss_fn(embeddings, targets)
    assert loss.item() == pytest.approx((loss_1 + loss_2) / 2, rel=1e-5)
    # single sample, the margin makes the loss larger than plain softmax
    single = loss_fn(embeddings[:1], targets[:1]).item()
    assert single == pytest.approx(loss_1, rel=1e-5)
    plain = -30 * 0.6 + math.log(math.exp(30 * 0.6) + math.exp(30 * 0.8))
    assert single > plain
    loss.backward()
    assert loss_fn.weight.grad.abs().sum() > 0


def test_aam_loss_rejects_bad_inputs():
    loss_fn = AAMSpeakerLoss(input_size=2, num_speakers=2)
    with pytest.raises(ValueError, match="speaker_index"):
        loss_fn(torch.ones(2, 2), torch.tensor([0, 2]))
    with pytest.raises(ValueError, match="embeddings"):
        loss_fn(torch.ones(2, 3), torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="speaker_index"):
        loss_fn(torch.ones(2, 2), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="num_speakers"):
        AAMSpeakerLoss(2, 0)


def _two_modalities(rng, num_speakers, per_speaker, maps):
    """Text and speech views of shared speaker factors, plus nuisance."""
    text_map, speech_map, nuisance_t, nuisance_s = maps
    centers = rng.normal(size=(num_speakers, 4))
    labels = np.repeat(np.arange(num_speakers), per_speaker)
    z = centers[labels] + 0.15 * rng.normal(size=(len(labels), 4))
    text = z @ text_map + rng.normal(size=(len(labels), 6)) @ nuisance_t
    speech = z @ speech_map + rng.normal(size=(len(labels), 6)) @ nuisance_s
    return text, speech, labels


def test_lda_alignment_beats_raw_space_retrieval():
    rng = np.random.default_rng(0)
    maps = [rng.normal(size=(4, 16)) for _ in range(2)] + [
        3 * rng.normal(size=(6, 16)) for _ in range(2)
    ]
    text, speech, labels = _two_modalities(rng, 30, 4, maps)
    to_lda_text, to_lda_speech = lda_align(text, speech, labels)
    assert to_lda_text.dim == to_lda_speech.dim == 29
    # held-out speakers, same generative maps
    test_text, test_speech, test_labels = _two_modalities(rng, 10, 4, maps)
    raw = speaker_retrieval_metrics(
        test_speech, test_text, test_labels, test_labels
    )
    aligned = speaker_retrieval_metrics(
        to_lda_speech(test_speech),
        to_lda_text(test_text),
        test_labels,
        test_labels,
    )
    for direction in ("s2t", "t2s"):
        assert aligned[direction]["mAP@10"] > raw[direction]["mAP@10"] + 0.3
        assert aligned[direction]["mean_rank"] < raw[direction]["mean_rank"]
    # fewer components and torch inputs
    to_text, to_speech = lda_align(
        torch.from_numpy(text), speech, labels.tolist(), n_components=4
    )
    projected = to_text(torch.from_numpy(test_text))
    assert isinstance(projected, torch.Tensor) and projected.shape == (40, 4)
    torch.testing.assert_close(projected.norm(dim=1), torch.ones(40))
    with pytest.raises(ValueError, match="speech_labels"):
        lda_align(text, speech[:10], labels)
    with pytest.raises(ValueError, match="n_components"):
        lda_align(text, speech, labels, n_components=0)


def test_speaker_retrieval_metrics_by_hand():
    speech = [[1.0, 0.0], [0.0, 1.0]]
    text = [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]
    speech_spk = ["a", "b"]
    text_spk = ["b", "a", "b"]
    result = speaker_retrieval_metrics(speech, text, speech_spk, text_spk)
    # s2t, speech a: cos order t1 (0.99), t3 (0.83), t2 (0.24): relevant t2
    #   at rank 3: AP = (1/3) / 1; first rank 3.
    # speech b: order t2 (0.97), t3 (0.55), t1 (0.11): relevant t1, t3 at
    #   ranks 2, 3: AP = (1/2 + 2/3) / 2 = 7/12; first rank 2.
    assert result["s2t"]["mAP@10"] == pytest.approx((1 / 3 + 7 / 12) / 2)
    assert result["s2t"]["mean_rank"] == pytest.approx(2.5)
    # t2s: t1 (b) -> a first, b second: AP 1/2; t2 (a) -> b then a: 1/2;
    #   t3 (b) -> a (0.83) then b (0.55): 1/2.
    assert result["t2s"]["mAP@10"] == pytest.approx(0.5)
    assert result["t2s"]["mean_rank"] == pytest.approx(2.0)
    # k = 2 cuts speech a's relevant item (rank 3) off
    cut = speaker_retrieval_metrics(speech, text, speech_spk, text_spk, k=2)
    assert cut["s2t"]["mAP@2"] == pytest.approx((0 + 1 / 2 / 2) / 2)

    # fusion with N = 1: each speech query becomes its nearest text
    fused = speaker_retrieval_metrics(
        speech, text, speech_spk, text_spk, fusion_n=1
    )
    # speech a -> t1: order t1, t3 (0.89), t2: relevant t2 at rank 3
    # speech b -> t2: order t2, t3, t1: ranks 2, 3 as before
    assert fused["s2t"]["mean_rank"] == pytest.approx(2.5)
    with pytest.raises(ValueError, match="dimension"):
        speaker_retrieval_metrics(speech, [[1.0, 0, 0]], ["a", "b"], ["a"])
    with pytest.raises(ValueError, match="text_spk"):
        speaker_retrieval_metrics(speech, text, speech_spk, ["a"])


def _clusters(seed, per_cluster=25, num=4, dim=10):
    rng = np.random.default_rng(seed)
    centers = 8 * rng.normal(size=(num, dim))
    labels = np.repeat(np.arange(num), per_cluster)
    return centers[labels] + rng.normal(size=(len(labels), dim)), labels


def _knn_purity(points, labels, k=5):
    d = ((points[:, None] - points[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    neighbours = np.argsort(d, axis=1)[:, :k]
    return float((labels[neighbours] == labels[:, None]).mean())


def test_tsne_separates_clusters():
    x, labels = _clusters(0)
    y = tsne_embed(x, perplexity=15, n_iter=500)
    assert y.shape == (100, 2) and np.isfinite(y).all()
    assert _knn_purity(y, labels) > 0.9
    # random labels give chance-level purity: the check is not vacuous
    shuffled = np.random.default_rng(1).permutation(labels)
    assert _knn_purity(y, shuffled) < 0.5
    with pytest.raises(ValueError, match="4 points"):
        tsne_embed(x[:3])


def test_tsne_of_identical_points_is_finite():
    # an untrained model's descriptions can all embed to one point: the PCA
    # initialisation would divide by zero (a recipe's test stage crashed)
    same = np.ones((8, 4))
    assert np.isfinite(tsne_embed(same, perplexity=2, n_iter=250)).all()
    assert np.isfinite(tsne_embed(same * 1e6, perplexity=2, n_iter=250)).all()


def test_tsne_plot_writes_a_png(tmp_path):
    x, labels = _clusters(2, per_cluster=10, num=3)
    path = tmp_path / "tsne.png"
    coords = tsne_plot(
        {"speaker": x, "text": x[:, ::-1] * 2},
        labels,
        str(path),
        title="t-SNE",
        perplexity=5,
        n_iter=300,
    )
    assert set(coords) == {"speaker", "text"}
    assert coords["text"].shape == (30, 2)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="labels of set"):
        tsne_plot({"a": x}, labels[:5], str(path))


def test_speaker_evaluator_tsne_map_is_subsampled(tmp_path):
    from speechbrain_style.evaluation.speaker import SpeakerRetrievalEvaluator

    evaluator = SpeakerRetrievalEvaluator(
        plot_folder=str(tmp_path),
        max_plot_speakers=2,
        max_plot_utterances=4,
        fusion_n=2,
    )
    speakers = [f"id{i % 3}" for i in range(30)]  # 3 speakers x 10
    speech = torch.nn.functional.normalize(torch.randn(30, 6), dim=1)
    text = torch.nn.functional.normalize(torch.randn(6, 6), dim=1)
    text_spk = ["id0", "id0", "id1", "id1", "id2", "id2"]
    coords = evaluator._plot(speech, speakers, text, text_spk, "train", "t")
    # 2 speakers x at most 4 utterances; their 4 texts
    assert coords["speech"].shape == (8, 2)
    assert coords["speech (fused)"].shape == (8, 2)
    assert coords["text"].shape == (4, 2)
    assert (tmp_path / "tsne_t_train.png").exists()
