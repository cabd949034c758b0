"""Texts on which another tokenizer most easily parts from `arlm.tokenizer.WordPieceTokenizer`: every step of
`arlm.text.normalize` and of the pre-tokenizer, and the [UNK] rules (`tests/test_hf_tokenizer.py` and the
browser demo's test compare ids on them)."""

LONG_ARABIC_51 = "ب" * 51  # 102 UTF-8 bytes: [UNK] for arlm, 51 characters for a character limit
FINAL_SIGMA = "ΟΔΟΣ ΟΔΟΣ."  # Python and JavaScript lowercase a final capital sigma to ς, Rust's per-char map to σ
TRICKY = [
    "وَأَقُولُ إِنَّ الـمُـعَلِّمَ فِي ٱلْمَدْرَسَةِ ١٢٣",  # tashkeel, shadda, tatweel, alef wasla, Arabic-Indic digits
    "أحمد إبراهيم آمن مؤمن بريئة سائل",  # hamza and madda on a carrier
    "ء لا شيء جزء",  # the lone hamza is kept
    "ﻻ ﷲ ﷺ ﺑﺴﻢ",  # presentation forms and ligatures (NFKD)
    "۱۲۳۴۵۶۷۸۹۰ و٠١٢٣٤٥٦٧٨٩",  # Persian and Arabic-Indic digits
    "مدرسة مدرسه مستشفى علي على",  # ta marbuta kept, alef maqsura unified
    "کتاب یوم پیام گل",  # Persian kaf and yeh, letters outside the Arabic block
    "رائع 😍😍 جدا 👍🏽 ❤️",  # emoji, a skin-tone modifier, a variation selector
    "The MobileBERT model، IS good!",  # Latin, case, an Arabic comma
    "Café naïve ÉCOLE",  # Latin accents are dropped
    "الخدمة\u200cممتازة \u200fجداً\u200e",  # ZWNJ, RLM, LRM, tanween
    "\ufeffنص بعد BOM",  # a byte-order mark
    "قال: «نعم»؛ ثم سأل؟ لا!",  # Arabic punctuation split off
    "السعر 10% (تقريبا) - [مؤكد] {نعم}",  # ASCII punctuation, brackets
    "a.b,c;d'e\"f`g~h^i_j|k\\l/m",  # every kind of ASCII symbol
    "email@example.com http://t.co/abc #هاشتاق @user",  # URL, mention, hashtag
    "   مسافات\t\tو\nأسطر\r\nكثيرة   ",  # tabs, newlines, leading and trailing spaces
    "مسافة\u00a0غير\u2009منكسرة\u3000و\u2028سطر",  # non-breaking, thin, ideographic, line separator
    "حلوووووووووووووووووو كتييييير",  # elongated tweet words
    LONG_ARABIC_51,  # over 100 bytes, under 100 characters
    "ا" * 50,  # exactly 100 bytes
    "x" * 101,  # over 100 characters
    "😀" * 26,  # 104 bytes of emoji in one word
    "שלום Привет 你好 こんにちは",  # scripts the vocabulary has never seen: [UNK]
    "مرحبا Hello مرحبا 123 عالم world",  # mixed direction
    "\u202bنص مضمن\u202c \u2067معزول\u2069",  # embedding and isolate controls (format characters)
    "جميل\ufffdجدا \x00 \x07",  # replacement character and control characters
    "…،؛؟ ٪ ٫ ٬ ۔",  # ellipsis, Arabic percent and separators, Urdu full stop
    "x² ½ ﬁ ①",  # compatibility characters (NFKD)
    "\u0627\u0653 \u0648\u0654 \u064a\u0655",  # decomposed madda and hamza marks
    "ـــ",  # only tatweel: nothing left
    "",  # empty
    "ًٌٍَُِّْ",  # only diacritics
    "MBERTA وIBERTA في الجدول 4",  # Latin glued to the conjunction wa
    "İstanbul ǅ ß",  # special-cased lowercasing
    FINAL_SIGMA,
]
