"""Keras 3 layers of the MobileBERT family (spec section 1), written with ``keras.ops`` only."""

from arlm.layers.attention import MASKED_LOGIT, MaskedSelfAttention, masked_logits
from arlm.layers.bert_block import BertBlock
from arlm.layers.bottleneck_block import BottleneckBlock
from arlm.layers.no_norm import NoNorm, make_norm
from arlm.layers.position_embedding import PositionEmbedding
from arlm.layers.trigram_embedding import TrigramEmbedding, trigram

__all__ = ["MASKED_LOGIT", "BertBlock", "BottleneckBlock", "MaskedSelfAttention", "NoNorm", "PositionEmbedding",
           "TrigramEmbedding", "make_norm", "masked_logits", "trigram"]
