"""arlm: compact Arabic language models (Alyafeai & Ahmad, WANLP 2021), as a runnable book.

Importing ``arlm`` loads neither TensorFlow nor Keras: submodules and the public classes load on first
use, so the on-device predict path (``arlm.predict``) runs where TensorFlow is not installed.
"""

import importlib

__version__ = "0.1.0"

# public name -> module that defines it (loaded on first access)
_LAZY = {
    "MobileBertBackbone": "arlm.models",
    "MobileBertConfig": "arlm.models",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    try:
        return importlib.import_module(f"arlm.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"arlm.{name}":
            raise
        raise AttributeError(f"module 'arlm' has no attribute {name!r}") from None
