"""The `transformers` MobileBERT of an arlm config, shared by the reference scripts (run in their own environment,
beside this file)."""


def hf_config(c, **fields):
    """`transformers.MobileBertConfig` of arlm's `MobileBertConfig` as a dict `c`; `fields` add or override."""
    import transformers

    return transformers.MobileBertConfig(
        vocab_size=c["vocab_size"], hidden_size=c["hidden_size"], num_hidden_layers=c["num_layers"],
        num_attention_heads=c["num_heads"], intermediate_size=c["intermediate_size"], hidden_act=c["hidden_act"],
        embedding_size=c["embedding_size"], trigram_input=c["trigram_input"], use_bottleneck=c["use_bottleneck"],
        intra_bottleneck_size=c["intra_bottleneck_size"], key_query_shared_bottleneck=c["key_query_shared_bottleneck"],
        num_feedforward_networks=c["num_feedforward_networks"], normalization_type=c["normalization_type"],
        classifier_activation=c["classifier_activation"], **fields)
