"""Training the fashrec encoders: contrastive image<->text training on any fashrec catalog.

``train(TrainConfig(...))`` trains fashrec-mini from scratch (or fine-tunes any open_clip model) and
writes an open_clip "local-dir" model folder that :class:`fashrec.encoder.OpenClipEncoder` loads.
torch is imported only inside the functions that need it.
"""

from fashrec.catalog.split import is_evaluation_item, is_holdout, is_validation
from fashrec.train.loop import TrainProgress, TrainResult, split_products, train
from fashrec.train.recipe import TrainConfig

__all__ = ["TrainConfig", "TrainProgress", "TrainResult", "is_evaluation_item", "is_holdout", "is_validation", "split_products", "train"]
