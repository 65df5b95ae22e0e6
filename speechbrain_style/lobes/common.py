"""Freezing shared by the encoder lobes.

A frozen lobe (``freeze=True``, as in SpeechBrain's Hugging Face
interfaces) has ``requires_grad=False`` parameters, stays in eval mode
even after ``.train()`` and runs its forward under ``torch.no_grad()``.

Authors
 * speechbrain-style contributors 2026
"""

from contextlib import nullcontext

import torch
from torch import nn


class FreezableLobe(nn.Module):
    """Base class of the lobes that can be frozen.

    Subclasses set ``self.freeze`` (a plain attribute or a property) and
    call ``self._freeze_parameters()`` when frozen; their forward wraps the
    encoder call in ``with self._no_grad_if_frozen():``.

    Example
    -------
    >>> class Tiny(FreezableLobe):
    ...     def __init__(self, freeze):
    ...         super().__init__()
    ...         self.linear = nn.Linear(2, 2)
    ...         self.freeze = freeze
    ...         if freeze:
    ...             self._freeze_parameters()
    ...
    ...     def forward(self, x):
    ...         with self._no_grad_if_frozen():
    ...             return self.linear(x)
    >>> lobe = Tiny(freeze=True).train()
    >>> lobe.training, lobe(torch.ones(1, 2)).requires_grad
    (False, False)
    >>> Tiny(freeze=False).train().training
    True
    """

    def train(self, mode=True):
        """Sets training mode; a frozen encoder always stays in eval mode.

        Arguments
        ---------
        mode : bool
            Requested mode.

        Returns
        -------
        FreezableLobe
            self
        """
        return super().train(mode and not getattr(self, "freeze", False))

    def _freeze_parameters(self, frozen=True):
        """Sets ``requires_grad = not frozen``; frozen also means eval mode.

        Arguments
        ---------
        frozen : bool
            Whether to freeze (True) or unfreeze (False) every parameter.
        """
        for param in self.parameters():
            param.requires_grad = not frozen
        if frozen:
            self.train(False)

    def _no_grad_if_frozen(self):
        """``torch.no_grad()`` when frozen, else a no-op context."""
        return torch.no_grad() if self.freeze else nullcontext()
