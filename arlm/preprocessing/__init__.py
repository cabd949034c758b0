"""Task inputs in NumPy, for training (`arlm.tasks`), export (`arlm.quantization`) and the on-device path
(`arlm.predict`) alike; nothing here imports TensorFlow or Keras.

* `classification`: ``[CLS] text [SEP]`` (`encode_texts`);
* `tagging`: first-word-piece PoS labelling (`encode_tagging`, `word_tags`);
* `qa`: span-QA windows, max-context, n-best decoding and answer text recovery (`build_features`, `decode`).
"""

from arlm.preprocessing.classification import encode_texts

__all__ = ["encode_texts"]
