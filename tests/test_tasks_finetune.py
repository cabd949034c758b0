"""Fine-tuning plumbing: input layouts, backbones from files, the model cache, Table 3 rows."""

import keras
import numpy as np
import pytest
from helpers import VOCAB, assert_same_weights, tiny_config

import arlm
from arlm.errors import ArtifactError, ParameterError
from arlm.preprocessing import encode_texts
from arlm.preprocessing.tagging import encode_tagging, word_tags
from arlm.tasks import experiments, finetune
from arlm.tasks.loaders import POS_LABELS, TextSplit


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from arlm.tokenizer import WordPieceTokenizer, train_vocabulary

    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    texts = ["الكتاب على الطاولة", "ذهب الولد إلى المدرسة", "قرأت كتابا جميلا"] * 5
    train_vocabulary(texts, 60, path, min_frequency=1)
    return WordPieceTokenizer(path)


def test_classification_inputs_are_cls_text_sep(tokenizer):
    inputs = encode_texts(["الكتاب على الطاولة", "قرأت " * 40], tokenizer, 8)
    ids = inputs["token_ids"]
    assert ids[0, 0] == tokenizer.cls_id and tokenizer.sep_id in ids[0]
    assert ids[1, -1] == tokenizer.sep_id and (inputs["padding_mask"][1] == 1).all()  # cut to 6 pieces + 2
    assert inputs["segment_ids"].sum() == 0


def test_tagging_labels_first_piece_and_x_for_continuations(tokenizer):
    sentence, tags = ["المدرسة", "على"], ["NOUN", "ADP"]
    features = encode_tagging([sentence], [tags], tokenizer, POS_LABELS, 12)
    labels = [POS_LABELS[i] for i in features.labels[0][: features.padding_mask[0].sum()]]
    assert labels[0] == "[CLS]" and "[SEP]" not in labels
    pieces = [len(tokenizer.encode(w)) for w in sentence]
    assert labels[1:] == ["NOUN"] + ["X"] * (pieces[0] - 1) + ["ADP"] + ["X"] * (pieces[1] - 1)
    assert features.first_piece[0].sum() == 2
    assert word_tags(features.labels, features, POS_LABELS) == [tags]


def test_limit_is_a_seeded_subset_in_order():
    split = TextSplit([str(i) for i in range(100)], list(range(100)))
    small = finetune.limit(split, 10, seed=1)
    assert len(small) == 10 and small.labels == sorted(small.labels)
    assert finetune.limit(split, 10, seed=1).labels == small.labels and finetune.limit(split, 0) is split


@pytest.mark.parametrize("saved", ["teacher.keras", "teacher_preset"])
def test_backbone_from_a_saved_pretrainer_and_vocabulary_check(saved, tmp_path):
    from arlm.mobilebert import MobileBertBackbone, MobileBertPretrainer
    from arlm.saving import save_model

    backbone = MobileBertBackbone.from_mobilebert_config(tiny_config("arabert_base", num_layers=1))
    path = save_model(MobileBertPretrainer(backbone), tmp_path / saved)  # a .keras file or a preset folder
    cfg = arlm.scales.resolve("tiny")
    loaded, source = finetune.load_backbone(str(path), cfg, VOCAB)
    assert "pretrained" in source
    assert_same_weights(loaded, backbone)
    with pytest.raises(ParameterError, match=f"{VOCAB}-token vocabulary but the tokenizer has 99"):
        finetune.load_backbone(str(path), cfg, 99)
    with pytest.raises(ArtifactError, match="'bert-large': no such file or folder.*--model"):
        finetune.load_backbone("bert-large", cfg, VOCAB)
    random, source = finetune.load_backbone("mberta", cfg, VOCAB)
    assert random.config.vocab_size == VOCAB and "random initialisation" in source


@pytest.mark.backend
def test_cached_finetuning_resets_head_and_optimizer(tokenizer):
    from arlm.mobilebert import MobileBertBackbone
    from arlm.tasks.loaders import Task

    def backbone():
        return MobileBertBackbone.from_mobilebert_config(
            tiny_config("arabert_base", num_layers=1, vocab_size=tokenizer.vocab_size))

    texts = ["الكتاب على الطاولة", "ذهب الولد إلى المدرسة"] * 8
    split = TextSplit(texts, [0, 1] * 8)
    task = Task("toy", "classification", ["a", "b"], split, split, split, True, "", "accuracy")
    cfg = arlm.scales.resolve("tiny", finetune_max_seq_length=16, finetune_learning_rate=1e-3)
    cache = finetune.ModelCache()
    first, model = finetune.finetune_classification(task, backbone(), tokenizer, cfg, verbose=0, cache=cache)
    head = model.get_layer("logits").get_weights()[0].copy()
    second, again = finetune.finetune_classification(task, backbone(), tokenizer, cfg, verbose=0, cache=cache)
    assert again is model and int(again.optimizer.iterations.numpy()) == first["train_steps"]
    assert not np.allclose(again.get_layer("logits").get_weights()[0], head)  # trained again from the reset head
    assert first["count"] == second["count"] == 16 and 0 <= second["accuracy"] <= 1


@pytest.mark.backend
def test_the_training_seed_alone_decides_a_run_cached_or_not(tokenizer):
    from arlm.mobilebert import MobileBertBackbone
    from arlm.tasks.loaders import Task

    def backbone():
        keras.utils.set_random_seed(7)  # the same pretrained weights for every run
        return MobileBertBackbone.from_mobilebert_config(
            tiny_config("mberta", num_layers=1, vocab_size=tokenizer.vocab_size, hidden_dropout=0.3))

    texts = ["الكتاب على الطاولة", "ذهب الولد إلى المدرسة", "الجو جميل اليوم"] * 8
    split = TextSplit(texts, [0, 1, 1] * 8)
    task = Task("toy", "classification", ["a", "b"], split, split, split, True, "", "accuracy")
    cfg = arlm.scales.resolve("tiny", finetune_max_seq_length=16, finetune_learning_rate=1e-3)

    def head(seed, cache=None):
        keras.utils.set_random_seed(seed + 99)  # whatever ran before: the training seed must override it
        scores, model = finetune.finetune_classification(task, backbone(), tokenizer, cfg, verbose=0, cache=cache,
                                                         seed=seed)
        return scores["final_train_loss"], model.get_layer("logits").get_weights()[0].copy()

    cache = finetune.ModelCache()
    alone, cached_first, cached_again = head(1), head(1, cache), head(1, cache)
    for loss, kernel in (cached_first, cached_again):
        assert loss == pytest.approx(alone[0], rel=1e-5) and np.allclose(kernel, alone[1], atol=1e-6)
    other = head(2, cache)
    assert not np.allclose(other[1], alone[1])


def test_over_seeds_means_and_spread():
    runs = [{"accuracy": 0.5, "macro_f1": 0.4, "seed": 1, "train_seconds": 2.0, "train_examples": 9},
            {"accuracy": 0.7, "macro_f1": 0.6, "seed": 2, "train_seconds": 3.0, "train_examples": 9}]
    merged = experiments.over_seeds(runs)
    assert merged["accuracy"] == pytest.approx(0.6) and merged["accuracy_sd"] == pytest.approx(0.1414, abs=1e-4)
    assert merged["seeds"] == [1, 2] and merged["train_seconds"] == 5.0 and merged["train_examples"] == 9
    assert experiments.over_seeds(runs[:1])["accuracy_sd"] == 0.0
    rows = experiments.table3({("MBERTA", "ajgt"): merged})
    assert rows[0]["ours"] == 60.0 and rows[0]["sd"] == 14.1
    assert "sd" not in experiments.table3({("MBERTA", "ajgt"): runs[0]})[0]


def test_table3_rows_join_the_paper():
    rows = experiments.table3({("MBERTA", "ajgt"): {"accuracy": 0.5}, ("MBERTA", "arcd"): {"exact_match": 10.0,
                                                                                          "f1": 20.0},
                               ("", "hadith"): {"accuracy": 0.9}})
    by_key = {(r["dataset"], r["metric"]): r for r in rows}
    assert by_key[("AJGT", "accuracy")] == {"dataset": "AJGT", "metric": "accuracy", "model": "MBERTA",
                                            "paper": 90.8, "ours": 50.0}
    assert by_key[("ARCD", "f1")]["paper"] == 49.9 and by_key[("ARCD", "f1")]["ours"] == 20.0
    assert len(rows) == 3  # the hadith task has no Table 3 row
