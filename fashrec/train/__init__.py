"""Training the fashrec encoders: contrastive image<->text training on any fashrec catalog.

``train(TrainConfig(...))`` trains fashrec-mini from scratch (or fine-tunes any open_clip model) and
writes an open_clip "local-dir" model folder that :class:`fashrec.encoder.OpenClipEncoder` loads.
torch is imported only inside the functions that need it.
"""

from .loop import TrainProgress, TrainResult, split_products, train
from .recipe import TrainConfig
from .split import is_evaluation_item, is_holdout, is_validation

__all__ = ["TrainConfig", "TrainProgress", "TrainResult", "is_evaluation_item", "is_holdout", "is_validation", "split_products", "train"]
