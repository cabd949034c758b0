"""Arabic text normalization: the ONE convention used by vocabulary training, pretraining data and fine-tuning.

The paper "removed diacritics and normalised character forms" (spec section 4). Google's BERT tokenizer with
``do_lower_case=True`` (the default of data creation *and* fine-tuning) lowercases, applies NFD and drops every
combining mark (Unicode category Mn). For Arabic that removes the tashkeel **and the hamza/madda written on a
carrier**: أ إ آ become ا, ؤ becomes و, ئ becomes ي. A vocabulary learned on un-lowercased text keeps hamza forms
("وأقول") that the lowercasing tokenizer can then never produce (spec section 4, "tokenizer pitfall").

This book picks one convention and applies it everywhere, *before* any tokenizer sees the text:

1. lowercase (Latin script; Arabic has no case);
2. NFKD, then drop every combining mark (Mn): tashkeel, shadda, sukun, Quranic small marks, the hamza above/below
   and madda of أ إ آ ؤ ئ (exactly what BERT's ``do_lower_case`` does), Latin accents; NFKD also resolves Arabic
   presentation forms and ligatures (ﻻ -> لا) and compatibility characters (… -> ..., ² -> 2);
3. drop tatweel (ـ), zero-width/format characters (ZWNJ, RLM, BOM) and U+FFFD; control characters and every
   Unicode space become one ASCII space;
4. unify letter forms: alef wasla ٱ -> ا, alef maqsura ى -> ي, Persian/Urdu ی -> ي and ک -> ك;
   **ta marbuta ة is kept** (ة/ه carry meaning: feminine ending vs pronoun);
5. Arabic-Indic and Persian digits -> ASCII 0-9 (tweets mix them);
6. NFC, collapse runs of spaces, strip.

`split_sentences` cuts paragraphs into sentences for BERT's next-sentence task (the mirror has a paragraph per line).

Punctuation (Arabic ، ؛ ؟ included), Latin words, emoji and the lone hamza ء are kept; the WordPiece pre-tokenizer
splits punctuation off. The result is stable under BERT's own lowercasing (``normalize`` is idempotent and
``bert_lowercase(normalize(t)) == normalize(t)``), so files made here also work with the official TF scripts.

`normalize` is pure Python (no TensorFlow); `normalize_tf` is the same function as TensorFlow string ops, for
tokenizing inside `tf.data`. Tests check the two agree on tricky strings.

>>> normalize("وَأَقُولُ إِنَّ الـمُـعَلِّمَ فِي ٱلْمَدْرَسَةِ ١٢٣")
'واقول ان المعلم في المدرسة 123'
"""

import re
import unicodedata

import regex  # Unicode property classes (\p{Mn}) like RE2's in TensorFlow; a dependency of keras-hub
from pyarabic import araby

# Letter forms unified by step 4, and digits (step 5). pyarabic names the Arabic letters.
LETTER_MAP = {
    araby.ALEF_WASLA: araby.ALEF,
    araby.ALEF_MAKSURA: araby.YEH,
    "\u06cc": araby.YEH,  # Farsi yeh ی
    "\u06a9": "\u0643",  # keheh ک -> kaf ك
}
DIGIT_MAP = {chr(0x0660 + d): str(d) for d in range(10)} | {chr(0x06F0 + d): str(d) for d in range(10)}
REMOVED = (araby.TATWEEL, "\ufffd")

# the two character classes of steps 2-3, as patterns (`arlm.hf_tokenizer` writes them into a tokenizer.json)
DROPPED = r"[\p{Mn}\p{Cf}" + "".join(REMOVED) + "]+"
SPACES = r"[\p{Cc}\p{Z}]+"
_DROP = regex.compile(DROPPED)
_SPACE = regex.compile(SPACES)
_LETTERS = str.maketrans(LETTER_MAP | DIGIT_MAP)
# sentence-final punctuation (Latin, Arabic question mark, ellipsis, Urdu full stop) followed by space
_SENTENCE_END = re.compile(r"(?<=[.!?\u061f\u2026\u06d4])\s+")


def normalize(text):
    """Normalize one string by the book's convention (module docstring); idempotent.

    >>> normalize("أحمد\u0640\u0640 سأل: ما الـ AI؟")
    'احمد سال: ما ال ai؟'
    """
    text = _DROP.sub("", unicodedata.normalize("NFKD", text.lower())).translate(_LETTERS)
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip(" ")


def split_sentences(text):
    """Cut a paragraph after sentence-final punctuation (. ! ? ؟ … ۔); BERT's data script wants sentences.

    >>> split_sentences("قال: نعم. ثم ذهب؟ لا")
    ['قال: نعم.', 'ثم ذهب؟', 'لا']
    """
    return [sentence for sentence in _SENTENCE_END.split(text) if sentence]


def bert_lowercase(text):
    """What Google's BERT ``BasicTokenizer(do_lower_case=True)`` does to characters: lower, NFD, drop Mn."""
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")


def normalize_tf(text):
    """`normalize` with TensorFlow string ops, for a string tensor of any shape (used inside `tf.data`)."""
    import tensorflow as tf
    import tensorflow_text as tf_text

    text = tf.strings.regex_replace(text, r"\x00", " ")  # ICU normalization would stop at a NUL
    text = tf_text.normalize_utf8(tf.strings.lower(text, encoding="utf-8"), "NFKD")
    text = tf.strings.regex_replace(text, r"[\p{Mn}\p{Cf}" + "".join(REMOVED) + "]", "")
    text = tf.strings.regex_replace(text, r"[\p{Cc}\p{Z}]", " ")
    for source, target in (LETTER_MAP | DIGIT_MAP).items():
        text = tf.strings.regex_replace(text, source, target)
    text = tf.strings.regex_replace(tf_text.normalize_utf8(text, "NFC"), " {2,}", " ")
    return tf.strings.regex_replace(text, "^ | $", "")
