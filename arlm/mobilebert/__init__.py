"""The MobileBERT family in keras-hub's layout: the models of the paper, their tokenizer and their presets.

``import arlm.mobilebert`` registers every class with Keras and the packaged presets with keras-hub, as
``import keras_hub`` does for its own models, so keras-hub's generic loaders read arlm's presets
(``keras_hub.models.Backbone.from_preset("mberta-cpu-edition")``, ``keras_hub.tokenizers.Tokenizer.from_preset``).

* `MobileBertConfig` and the paper's configurations (`CONFIGS`, `named_config`, `config_at_scale`): architectures;
* `MobileBertBackbone`: the encoder (MobileBERT, IB-BERT, BERT blocks);
* `MobileBertTokenizer`: the book's Arabic normalization and WordPiece, in-graph;
* `MobileBertTextClassifierPreprocessor` and `MobileBertTextClassifier`: sentence classification on raw strings;
* `TokenTagger` (softmax or CRF) and `SpanQA`: PoS tagging and extractive QA on encoded inputs
  (`arlm.preprocessing`);
* `MobileBertPretrainer`: the masked-LM and next-sentence heads of pretraining (`MaskedLMHead`, `nsp_head`);
* `arlm.mobilebert.presets`: the trained presets packaged with arlm.

Every model loads with ``from_preset`` and saves with ``save_to_preset`` (`arlm.preset_format`; `arlm.saving` for any
model of the book).
"""

from arlm.mobilebert import presets
from arlm.mobilebert.backbone import MobileBertBackbone
from arlm.mobilebert.config import CONFIG_DESCRIPTIONS, CONFIGS, MobileBertConfig, config_at_scale, named_config
from arlm.mobilebert.pretrainer import MobileBertPretrainer
from arlm.mobilebert.pretraining_heads import MaskedLMHead, gather_positions, nsp_head
from arlm.mobilebert.span_qa import SpanQA
from arlm.mobilebert.text_classifier import MobileBertTextClassifier
from arlm.mobilebert.text_classifier_preprocessor import MobileBertTextClassifierPreprocessor
from arlm.mobilebert.token_tagger import CRF, TokenTagger, crf_log_likelihood, viterbi_decode
from arlm.mobilebert.tokenizer import MobileBertTokenizer

presets.register()

__all__ = ["CONFIGS", "CONFIG_DESCRIPTIONS", "CRF", "MaskedLMHead", "MobileBertBackbone", "MobileBertConfig",
           "MobileBertPretrainer", "MobileBertTextClassifier", "MobileBertTextClassifierPreprocessor",
           "MobileBertTokenizer", "SpanQA", "TokenTagger", "config_at_scale", "crf_log_likelihood",
           "gather_positions", "named_config", "nsp_head", "viterbi_decode"]
