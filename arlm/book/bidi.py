"""Arabic inside left-to-right text: which text reads right to left, and the runs of Arabic to isolate.

The browser orders mixed text by the Unicode bidirectional algorithm, which lets neutral characters between
Arabic letters join them: in "أ, إ, آ become ا" the letters and commas form one right-to-left run. Wrapping each
run of Arabic in ``<bdi dir="rtl">`` keeps it in place. The book's page pass (``book/_ext/arabic.py``) applies
this to the built pages; `isolate_text` to HTML written by a script in the page (the quizzes), which that pass
never sees.

>>> isolate_text("compares «رياض،» with «الرياض»")
'compares «<bdi dir="rtl">رياض،</bdi>» with «<bdi dir="rtl">الرياض</bdi>»'
"""

import html
import re

ARABIC = "\u0600-\u06ff\u0750-\u077f\u0870-\u089f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff"
CHARS = re.compile(f"[{ARABIC}]+")
LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+")
_MARKER = re.compile(r"\[[A-Z]{2,5}\]")  # [CLS], [SEP], [MASK], [UNK], [PAD]: tokenizer markup
# a run of Arabic to isolate: Arabic characters joined by spaces and by the Arabic comma and semicolon, with a
# closing comma (in a <pre>, not across a line break); a list of single words is split at its commas
_LIST = "\u060c\u061b"  # ، ؛
_IN_RUN = ARABIC.replace("\u0600-\u06ff", "\u0600-\u060b\u060d-\u061a\u061c-\u06ff")
RUN = re.compile(f"[{_IN_RUN}]+(?:[\\s{_LIST}]+[{_IN_RUN}]+)*[{_LIST}]?")
PRE_RUN = re.compile(f"[{_IN_RUN}]+(?:(?:[^\\S\\n]|[{_LIST}])+[{_IN_RUN}]+)*[{_LIST}]?")
_ITEM = re.compile(f"[^{_LIST}\\s]+")


def rtl(text):
    """Whether `text` reads right to left: more Arabic words than Latin ones, and an Arabic word first."""
    text = _MARKER.sub(" ", text)
    arabic = [m for m in CHARS.finditer(text) if any(c.isalpha() for c in m.group())]
    latin = LATIN_WORD.search(text)
    if not arabic or (latin is not None and latin.start() < arabic[0].start()):
        return False
    return len(arabic) > len(LATIN_WORD.findall(text))


def items(run):
    """A run's spans to isolate: the whole run, or each word of a list of single words ("سأل، مسؤول، قرآن"),
    which keeps its written order in left-to-right text as a list with Latin commas does."""
    parts = re.split(f"[{_LIST}]", run.group().rstrip(_LIST))
    if len(parts) > 1 and all(len(part.split()) == 1 for part in parts):
        return [(run.start() + m.start(), run.start() + m.end()) for m in _ITEM.finditer(run.group())]
    return [run.span()]


def isolate_text(text):
    """`text` (plain text) as HTML, each run of Arabic in ``<bdi dir="rtl">`` (`items`)."""
    out, at = [], 0
    for m in RUN.finditer(text):
        for start, end in items(m):
            out += [html.escape(text[at:start], quote=False), '<bdi dir="rtl">',
                    html.escape(text[start:end], quote=False), "</bdi>"]
            at = end
    return "".join(out) + html.escape(text[at:], quote=False)
