"""The student network: an encoder ``h`` and two linear heads ``f`` (main) and ``g`` (auxiliary)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["MLPEncoder", "ZeroMatchModule", "encoder_output_dim"]


class MLPEncoder(nn.Module):
    """Stack of ``Linear -> GELU -> Dropout`` blocks.

    Parameters
    ----------
    n_features : int
        Input width.
    hidden_layer_sizes : sequence of int
        Width of each block; the last one is the embedding the heads read.
        An empty sequence gives the identity encoder (linear heads on the
        inputs).
    dropout : float
        Dropout probability after each activation.
    """

    def __init__(self, n_features: int, hidden_layer_sizes: Sequence[int] = (512,), dropout: float = 0.1):
        super().__init__()
        layers: list[nn.Module] = []
        width = n_features
        for size in hidden_layer_sizes:
            layers += [nn.Linear(width, size), nn.GELU(), nn.Dropout(dropout)]
            width = size
        self.layers = nn.Sequential(*layers)
        self.out_features = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def encoder_output_dim(encoder: nn.Module, n_features: int) -> int:
    """Width of ``encoder``'s output, read from ``out_features`` or by a dry run on one zero row."""
    width = getattr(encoder, "out_features", None)
    if isinstance(width, int):
        return width
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.no_grad():
            out = encoder(torch.zeros(2, n_features))
    except Exception as exc:  # the user's module: say what we tried
        raise ValueError(
            f"Could not run the encoder `module` on a batch of shape (2, {n_features}) to find its "
            f"output width: {exc}. The module must map (batch, n_features) float32 tensors to "
            f"(batch, width); or give it an integer attribute `out_features`."
        ) from exc
    finally:
        encoder.train(was_training)
    if not isinstance(out, torch.Tensor) or out.ndim != 2:
        raise ValueError(
            f"The encoder `module` must return a 2-D tensor (batch, width); it returned "
            f"{type(out).__name__} with shape {getattr(out, 'shape', None)}."
        )
    return int(out.shape[1])


class ZeroMatchModule(nn.Module):
    """Encoder plus the main head ``f`` and, optionally, the auxiliary head ``g``.

    ``forward`` returns the main head's logits, which is all that prediction
    uses; training calls :meth:`encode` once on a concatenated batch and
    applies the heads to slices of the result.
    """

    def __init__(self, encoder: nn.Module, width: int, n_classes: int, aux_head: bool = True):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(width, n_classes)
        self.aux_head = nn.Linear(width, n_classes) if aux_head else None

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))
