"""Training layer: contrastive image<->text training of the fashrec encoders on any fashrec catalog.

``train(TrainConfig(...))`` trains fashrec-mini from scratch (or fine-tunes any open_clip model) and
writes an open_clip "local-dir" model folder that :class:`fashrec.encoder.OpenClipEncoder` loads.
torch is imported only when a run starts (:mod:`fashrec.train.fit`).
"""

from fashrec.train.loop import TrainResult, Validator, split_products, train
from fashrec.train.progress import TrainProgress
from fashrec.train.recipe import TrainConfig

__all__ = ["TrainConfig", "TrainProgress", "TrainResult", "Validator", "split_products", "train"]
