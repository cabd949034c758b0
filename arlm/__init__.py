"""arlm: compact Arabic language models (Alyafeai & Ahmad, WANLP 2021), as a runnable book.

Importing ``arlm`` loads neither TensorFlow nor Keras: submodules and the public classes load on first
use, so the on-device predict path (``arlm.predict``) runs where TensorFlow is not installed. It does turn on
TensorFlow's oneDNN CPU kernels for a TensorFlow imported later (``TF_ENABLE_ONEDNN_OPTS``, see below).

"spec N.N" in the docstrings and comments of this package is section N.N of the book's specification appendix
(Appendix C, ``book/appendix_specification.md``), which describes the official code each part follows.
"""

import importlib
import os
import warnings

# TensorFlow turns on its oneDNN CPU kernels by default only on CPUs with newer AI instructions (AVX-512
# VNNI/BF16, AMX). On AVX2 CPUs (laptops, Colab, CI) they make MobileBERT's training step 15-25% faster
# (benchmarks/train_step.py). Effective when arlm is imported before TensorFlow; TF_ENABLE_ONEDNN_OPTS=0 opts out.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
# keras-hub imports huggingface_hub, whose tqdm.auto warns in a notebook without ipywidgets; arlm's own progress
# (arlm.progress) prints plain lines there, so the warning tells a reader nothing they can act on
warnings.filterwarnings("ignore", message="IProgress not found")

__version__ = "0.1.0"

# public name -> module that defines it (loaded on first access)
_LAZY = {
    "MobileBertBackbone": "arlm.mobilebert",
    "MobileBertConfig": "arlm.mobilebert",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    return _submodule(__name__, name)


def _submodule(package, name):
    """``package.name`` imported on first use (a package's ``__getattr__``: here and in `arlm.book`)."""
    try:
        return importlib.import_module(f"{package}.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"{package}.{name}":
            raise
        raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
