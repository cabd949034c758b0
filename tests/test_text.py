"""The one normalization convention: expected outputs, stability, and the TensorFlow twin agreeing with Python."""

import pytest

from arlm.text import bert_lowercase, normalize, split_sentences

# (raw, normalized): hamza forms, diacritics, tatweel, presentation forms, Latin, emoji, digits, invisible chars
CASES = [
    ("وَأَقُولُ إِنْذَارٌ مُؤْمِنٌ سُئِلَ آمَنَ", "واقول انذار مومن سيل امن"),
    ("الـــعـــربـــيـــة", "العربية"),
    ("ﻻ ﷺ", "لا صلي الله عليه وسلم"),
    ("مصطفى ٱلْكِتَابُ ی ک ة ء", "مصطفي الكتاب ي ك ة ء"),
    ("Café ÉCOLE BERT", "cafe ecole bert"),
    ("😀👍🏽 #هاشتاق @User http://x.co/a?b=1", "😀👍🏽 #هاشتاق @user http://x.co/a?b=1"),
    ("٠١٢٣٤٥٦٧٨٩ ۰۱۲ 3.14", "0123456789 012 3.14"),
    ("\u200cمرحبا\u200f\ufeff\u00a0\u2009عالم\t\n", "مرحبا عالم"),
    ("«قال» ؟!،؛ …", "«قال» ؟!،؛ ..."),
    ("x\x00y\x1fz", "x y z"),
    ("", ""),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_normalize_convention(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_normalize_is_idempotent_and_stable_under_bert_lowercasing(raw, expected):
    once = normalize(raw)
    assert normalize(once) == once
    # files made here tokenize the same under Google's do_lower_case=True tokenizer (spec section 4 pitfall)
    assert bert_lowercase(once) == once


def test_bert_lowercasing_strips_hamza_but_normalize_does_it_first():
    assert bert_lowercase("سأل") == "سال"
    assert normalize("سأل") == "سال"


def test_tensorflow_normalization_agrees_with_python():
    import tensorflow as tf

    from arlm.text import normalize_tf

    raw = [case for case, _ in CASES]
    got = [value.decode("utf-8") for value in normalize_tf(tf.constant(raw)).numpy()]
    assert got == [normalize(text) for text in raw]


def test_split_sentences():
    assert split_sentences("قال: نعم. ثم ذهب؟ لا! حسنا… انتهى") == ["قال: نعم.", "ثم ذهب؟", "لا!", "حسنا…", "انتهى"]
    assert split_sentences("3.14 ليس جملتين") == ["3.14 ليس جملتين"]
    assert split_sentences("") == []
