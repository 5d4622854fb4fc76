"""Training layer: the two losses of the fashrec-mini recipe.

1. Image<->caption contrastive loss with multi-positive targets: two products in one batch that draw the
   same caption ("black watch") are both right answers, so neither is pushed away as a negative.
2. Attribute-prompt loss: for one attribute, the prompts for all its values form a classifier head made of
   text; cross-entropy against the image's true value teaches exactly what zero-shot search needs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def same_caption_targets(caption_ids: torch.Tensor) -> torch.Tensor:
    """Row-normalised B x B target matrix: 1 where two batch items have the same caption."""
    same = (caption_ids.view(-1, 1) == caption_ids.view(1, -1)).float()
    return same / same.sum(dim=1, keepdim=True)


def multi_positive_clip_loss(image_features: torch.Tensor, text_features: torch.Tensor,
                             caption_ids: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """Symmetric soft-target CLIP loss (UniCL-style); features must be L2-normalised."""
    logits = logit_scale * image_features @ text_features.t()
    targets = same_caption_targets(caption_ids)  # symmetric, so the same matrix serves both directions
    loss_i = torch.sum(-targets * F.log_softmax(logits, dim=1), dim=1).mean()
    loss_t = torch.sum(-targets * F.log_softmax(logits.t(), dim=1), dim=1).mean()
    return (loss_i + loss_t) / 2


def attribute_prompt_loss(image_features: torch.Tensor, prompt_features: torch.Tensor,
                          labels: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor | None:
    """Cross-entropy of images against one attribute's value prompts; unknown labels (-1) are skipped."""
    known = labels >= 0
    if not bool(known.any()):
        return None
    logits = logit_scale * image_features[known] @ prompt_features.t()
    return F.cross_entropy(logits, labels[known])
