"""`arlm.hf_tokenizer`: the tokenizer.json it writes gives arlm's normalization and ids in the `tokenizers` library
(and in `transformers`' fast tokenizer), on the tricky texts of `tests/tricky_texts.py`."""

import json

import pytest
import tokenizers
from tricky_texts import FINAL_SIGMA, LONG_ARABIC_51, TRICKY

from arlm.hf_tokenizer import tokenizer_json, write_tokenizer_json
from arlm.preset_format import PRESETS_DIR
from arlm.text import normalize
from arlm.tokenizer import WordPieceTokenizer

VOCAB = PRESETS_DIR / "mberta-cpu-edition" / "assets" / "tokenizer" / "vocabulary.txt"
# the one rule the format cannot say: arlm's [UNK] for a word over 100 UTF-8 bytes (module docstring)
OVER_100_BYTES = {LONG_ARABIC_51, "😀" * 26}



@pytest.fixture(scope="module")
def written(tmp_path_factory):
    path = write_tokenizer_json(VOCAB, tmp_path_factory.mktemp("hf") / "tokenizer.json")
    return path, tokenizers.Tokenizer.from_file(str(path)), WordPieceTokenizer(VOCAB)


def test_there_are_thirty_tricky_texts_and_they_reach_every_rule():
    assert len(TRICKY) >= 30
    ours = WordPieceTokenizer(VOCAB)
    ids = [i for text in TRICKY for i in ours.encode(text)]
    assert ours.unk_id in ids and len(set(ids)) > 100


def test_the_normalizers_are_arlm_normalize_but_for_a_final_sigma(written):
    _, hf, _ = written
    for text in TRICKY:
        if text == FINAL_SIGMA:  # the module docstring's one lowercasing difference
            assert hf.normalizer.normalize_str(text) == normalize(text).replace("ς", "σ") != normalize(text)
        else:
            assert hf.normalizer.normalize_str(text) == normalize(text), repr(text)


def test_the_ids_are_arlm_ids_but_for_words_over_100_bytes(written):
    _, hf, ours = written
    for text in TRICKY:
        ids = hf.encode(text, add_special_tokens=False).ids
        if text in OVER_100_BYTES:
            assert ours.encode(text) == [ours.unk_id] and ids != [ours.unk_id]
        elif text != FINAL_SIGMA:  # normalized otherwise (test above)
            assert ids == ours.encode(text), repr(text)


def test_special_tokens_pairs_and_truncation(written, tmp_path):
    _, hf, ours = written
    pieces = ours.encode("الخدمة ممتازة")
    single = hf.encode("الخدمة ممتازة")
    assert single.ids == [ours.cls_id, *pieces, ours.sep_id] and set(single.type_ids) == {0}
    pair = hf.encode("الخدمة ممتازة", "جدا")
    assert pair.ids == [ours.cls_id, *pieces, ours.sep_id, *ours.encode("جدا"), ours.sep_id]
    assert pair.type_ids == [0] * (len(pieces) + 2) + [1] * (len(ours.encode("جدا")) + 1)
    cut = tokenizers.Tokenizer.from_str(json.dumps(tokenizer_json(VOCAB, max_seq_length=6)))
    assert cut.encode(TRICKY[0]).ids == [ours.cls_id, *ours.encode(TRICKY[0])[:4], ours.sep_id]
    assert hf.decode(single.ids) == normalize("الخدمة ممتازة")


def test_transformers_mobilebert_tokenizer_reads_it_and_auto_tokenizer_reloads_it(written, tmp_path):
    transformers = pytest.importorskip("transformers")
    path, _, ours = written
    fast = transformers.MobileBertTokenizerFast(tokenizer_file=str(path))  # keeps the normalizers
    fast.save_pretrained(tmp_path)
    loaded = transformers.AutoTokenizer.from_pretrained(tmp_path)
    for text in TRICKY:
        if text not in OVER_100_BYTES:
            assert loaded(text, add_special_tokens=False)["input_ids"] == ours.encode(text), repr(text)
    batch = loaded(["وَأَقُولُ: السلام عليكم", "لا"], padding=True)
    assert batch["input_ids"][0] == [ours.cls_id, *ours.encode("وَأَقُولُ: السلام عليكم"), ours.sep_id]
    assert batch["input_ids"][1][-1] == ours.pad_id and batch["attention_mask"][1][-1] == 0
