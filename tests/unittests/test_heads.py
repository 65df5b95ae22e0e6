"""Tests of the projection heads."""

import pytest
import torch

from speechbrain_style.lobes.heads import ProjectionHead


def test_projection_only_is_normalised_linear_map():
    head = ProjectionHead(3, proj_size=2)
    with torch.no_grad():
        head.projection.weight.copy_(
            torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
        )
        head.projection.bias.zero_()
    levels = head(torch.tensor([[3.0, 2.0, 7.0]]))
    assert head.num_levels == 1 and len(levels) == 1
    # (3, 4) / 5
    assert torch.allclose(levels[0], torch.tensor([[0.6, 0.8]]))
    assert head.output_size == 2 and head.level_sizes == [2]


def test_transform_level_hand_worked():
    head = ProjectionHead(
        2, proj_size=2, num_transform_layers=1, hidden_activation="relu"
    )
    with torch.no_grad():
        head.projection.weight.copy_(torch.eye(2))
        head.projection.bias.copy_(torch.tensor([0.0, -5.0]))
        linear = head.transform[-1]
        linear.weight.copy_(torch.tensor([[1.0, 0.0], [1.0, 1.0]]))
        linear.bias.zero_()
    proj, transformed = head(torch.tensor([[3.0, 1.0]]))
    # projection (3, -4) -> normalised (0.6, -0.8)
    assert torch.allclose(proj, torch.tensor([[0.6, -0.8]]))
    # relu -> (3, 0) -> linear -> (3, 3) -> normalised
    expected = torch.tensor([[1.0, 1.0]]) / 2**0.5
    assert torch.allclose(transformed, expected)


def test_levels_sizes_norms_and_gradients():
    torch.manual_seed(0)
    head = ProjectionHead(
        16, proj_size=8, num_transform_layers=3, transform_size=6, dropout=0.1
    )
    assert head.num_levels == 2 and head.level_sizes == [8, 6]
    assert head.output_size == 8
    linears = [m for m in head.transform if isinstance(m, torch.nn.Linear)]
    assert [m.in_features for m in linears] == [8, 6, 6]
    x = torch.randn(5, 16, requires_grad=True)
    proj, transformed = head(x)
    assert proj.shape == (5, 8) and transformed.shape == (5, 6)
    assert torch.allclose(proj.norm(dim=-1), torch.ones(5), atol=1e-6)
    assert torch.allclose(transformed.norm(dim=-1), torch.ones(5), atol=1e-6)
    (proj.sum() + transformed.sum()).backward()
    assert all(p.grad is not None for p in head.parameters())


def test_init_kwargs_rebuild_same_architecture():
    head = ProjectionHead(10, proj_size=4, num_transform_layers=2)
    clone = ProjectionHead(**head.init_kwargs)
    clone.load_state_dict(head.state_dict())
    x = torch.randn(3, 10)
    for a, b in zip(head.eval()(x), clone.eval()(x), strict=True):
        assert torch.equal(a, b)
    assert head.init_kwargs["transform_size"] == 4


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"input_size": 0}, "input_size"),
        ({"input_size": 4, "proj_size": -1}, "proj_size"),
        ({"input_size": 4, "num_transform_layers": -1}, "num_transform"),
        ({"input_size": 4, "hidden_activation": "swish2"}, "hidden_act"),
        ({"input_size": 4, "dropout": 1.0}, "dropout"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ProjectionHead(**kwargs)


def test_bad_input_shape():
    head = ProjectionHead(4, proj_size=2)
    with pytest.raises(ValueError, match="batch, 4"):
        head(torch.randn(2, 5))
