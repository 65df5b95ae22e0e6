"""Projection heads that map encoder embeddings into the joint space.

The heads follow the speaker-text retrieval framework of Liu, Wang, Cooper,
Miao and Yamagishi, "Speaker-Text Retrieval via Contrastive Learning"
(IEEE Signal Processing Letters, 2024): each encoder embedding goes through a
fully-connected (FC) projection layer (to 768 dimensions in the paper), then
through several FC transform layers of the same width; the outputs of the
projection layer and of the transform stack are both length-normalised, and
the training objective sums one contrastive loss per level,
``L_CTS,tot = L_CTS(projection) + L_CTS(transform)``. With no transform
layers, the head is the plain linear projection of CLIP/CLAP-style retrieval
models (e.g. 768 -> 512 in the expressive speech retrieval paper).

Authors
 * speechbrain-style contributors 2026
"""

import torch.nn.functional as F
from speechbrain.utils.logger import get_logger
from torch import nn

logger = get_logger(__name__)

ACTIVATIONS = {
    "gelu": nn.GELU,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
}


class ProjectionHead(nn.Module):
    """Linear projection plus optional FC transform layers, L2-normalised.

    ``forward`` returns a list of embeddings, one per level:

    * level 0: the L2-normalised output of the linear projection
      (``proj_size`` dimensions);
    * level 1 (only when ``num_transform_layers > 0``): the L2-normalised
      output of the transform stack (``transform_size`` dimensions), which is
      applied to the (un-normalised) projection output. Each transform layer
      is ``activation -> dropout -> Linear``, so the non-linearities sit
      between the FC layers and the last layer is linear.

    A loss can use either level or sum over both (speaker-text retrieval
    paper, Eq. 3). The paper searches the projection-level space at
    inference, so level 0 is the retrieval embedding by default (see
    ``select_level``; ``retrieval_level`` in the recipes and inference
    folders) and ``output_size`` is the size of level 0; ``level_sizes``
    gives the size of every level.

    Arguments
    ---------
    input_size : int
        Size of the encoder embedding.
    proj_size : int
        Output size of the linear projection (level 0).
    num_transform_layers : int
        Number of FC transform layers after the projection (0: none, the
        head then has a single level).
    transform_size : int, optional
        Width of the transform layers; defaults to ``proj_size``.
    hidden_activation : str
        Activation between FC layers: one of "gelu", "relu", "leaky_relu",
        "tanh", "silu".
    dropout : float
        Dropout rate applied to the encoder embedding before the projection
        and before each transform layer.

    Example
    -------
    >>> import torch
    >>> head = ProjectionHead(16, proj_size=8, num_transform_layers=2)
    >>> levels = head(torch.randn(4, 16))
    >>> head.num_levels, [tuple(x.shape) for x in levels]
    (2, [(4, 8), (4, 8)])
    >>> torch.allclose(levels[1].norm(dim=-1), torch.ones(4))
    True
    """

    def __init__(
        self,
        input_size,
        proj_size=512,
        num_transform_layers=0,
        transform_size=None,
        hidden_activation="gelu",
        dropout=0.0,
    ):
        super().__init__()
        for name, value in (
            ("input_size", input_size),
            ("proj_size", proj_size),
        ):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(
                    f"{name} must be a positive int, got {value!r}"
                )
        if (
            not isinstance(num_transform_layers, int)
            or num_transform_layers < 0
        ):
            raise ValueError(
                "num_transform_layers must be a non-negative int, got "
                f"{num_transform_layers!r}"
            )
        if transform_size is None:
            transform_size = proj_size
        if not isinstance(transform_size, int) or transform_size <= 0:
            raise ValueError(
                f"transform_size must be a positive int, got {transform_size!r}"
            )
        if hidden_activation not in ACTIVATIONS:
            raise ValueError(
                f"hidden_activation must be one of {sorted(ACTIVATIONS)}, "
                f"got {hidden_activation!r}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")

        self.init_kwargs = {
            "input_size": input_size,
            "proj_size": proj_size,
            "num_transform_layers": num_transform_layers,
            "transform_size": transform_size,
            "hidden_activation": hidden_activation,
            "dropout": dropout,
        }
        self.input_dropout = nn.Dropout(dropout)
        self.projection = nn.Linear(input_size, proj_size)
        layers = []
        in_size = proj_size
        for _ in range(num_transform_layers):
            layers += [
                ACTIVATIONS[hidden_activation](),
                nn.Dropout(dropout),
                nn.Linear(in_size, transform_size),
            ]
            in_size = transform_size
        self.transform = nn.Sequential(*layers) if layers else None
        self.num_levels = 2 if layers else 1
        self.level_sizes = [proj_size] + ([transform_size] if layers else [])
        self.output_size = proj_size

    def forward(self, x):
        """Projects ``x`` and returns the L2-normalised level embeddings.

        Arguments
        ---------
        x : torch.Tensor
            Encoder embeddings, shape (batch, input_size).

        Returns
        -------
        list of torch.Tensor
            ``num_levels`` tensors of shape (batch, level size), each with
            unit L2 norm along the last dimension.
        """
        if x.dim() != 2 or x.shape[-1] != self.projection.in_features:
            raise ValueError(
                "ProjectionHead expects x of shape (batch, "
                f"{self.projection.in_features}), got {tuple(x.shape)}"
            )
        projected = self.projection(self.input_dropout(x))
        levels = [F.normalize(projected, dim=-1)]
        if self.transform is not None:
            levels.append(F.normalize(self.transform(projected), dim=-1))
        return levels


def select_level(levels, level=0):
    """The retrieval embedding among the levels returned by a head.

    The single rule used by validation, evaluation, export and inference:
    level 0 (the projection) unless ``retrieval_level`` says otherwise.

    Arguments
    ---------
    levels : list of torch.Tensor
        The output of ``ProjectionHead.forward``.
    level : int
        The level to use (0: projection, 1: transform layers; negative
        values count from the last level).

    Returns
    -------
    torch.Tensor
        ``levels[level]``.

    Example
    -------
    >>> import torch
    >>> head = ProjectionHead(16, proj_size=8, num_transform_layers=1)
    >>> levels = head(torch.randn(2, 16))
    >>> select_level(levels) is levels[0]
    True
    >>> select_level(levels, 2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: retrieval_level=2 but the head gives 2 level(s) ...
    """
    if isinstance(level, bool) or not isinstance(level, int):
        raise ValueError(
            f"retrieval_level must be an int (a head level), got {level!r}"
        )
    if not -len(levels) <= level < len(levels):
        raise ValueError(
            f"retrieval_level={level} but the head gives {len(levels)} "
            "level(s) (0: projection, 1: transform layers)"
        )
    return levels[level]
