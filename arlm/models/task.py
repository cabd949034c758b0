"""keras-hub's preset API for the task models of this book: `save_to_preset` / `from_preset` on each class.

A task model (`MobileBertPretrainer`, `MobileBertClassifier`, `arlm.tasks.heads.TokenTagger` and ``SpanQA``) is
a functional `keras.Model` around a `MobileBertBackbone`. Its preset folder has keras-hub's layout: the backbone's
``config.json`` and ``model.weights.h5``, the task's ``task.json`` and the weights of its own layers in
``task.weights.h5``, keras-hub's ``metadata.json``, and optionally a vocabulary (``tokenizer.json`` and
``assets/tokenizer/vocabulary.txt``). So `MobileBertBackbone.from_preset` reads the backbone of any of them, and
``MobileBertClassifier.from_preset(teacher_preset, num_classes=3)`` puts a new head on a saved backbone.

keras-hub's `Task` class itself is not the base: its ``fit`` and ``predict`` map a preprocessor over the data
(`PipelineModel`), and these models take already encoded batches (`arlm.preprocessing`).

>>> classifier.save_to_preset("ajgt_classifier", tokenizer="vocab.txt")         # doctest: +SKIP
>>> again = MobileBertClassifier.from_preset("ajgt_classifier")                  # doctest: +SKIP
"""

import keras

from arlm.models.backbone import MobileBertBackbone
from arlm.models.preset import PresetMethods


class PresetTask(PresetMethods):
    """Mixin for a functional model with a ``backbone``: keras-hub's `Task` preset methods (`PresetMethods`) and the
    task-weight methods keras-hub's preset loader and saver call.

    Class attributes: ``backbone_cls`` (the backbone `from_preset` builds when a preset holds a backbone only)
    and ``head_arguments`` (constructor arguments that change the head's weights: given to `from_preset`, the
    saved head is not loaded and a new one is initialised, as keras-hub does for ``num_classes``).
    """

    backbone_cls = MobileBertBackbone
    preprocessor = preprocessor_cls = None  # keras-hub's loader looks for one; inputs here are encoded beforehand
    head_arguments = ()

    def _backbone_layers(self):
        return list(self.backbone._flatten_layers())

    def has_task_weights(self):
        """Whether the model has weights outside its backbone (every head here has)."""
        backbone = {id(w) for w in self.backbone.weights}
        return any(id(w) not in backbone for w in self.weights)

    def save_task_weights(self, filepath):
        """Save the weights outside the backbone (the head; a tied embedding stays the backbone's)."""
        keras.saving.save_weights(self, filepath, objects_to_skip=self._backbone_layers())

    def load_task_weights(self, filepath):
        """Load what `save_task_weights` wrote."""
        keras.saving.load_weights(self, filepath, objects_to_skip=self._backbone_layers())
