"""Sentences a chapter computes from its results, and the check that its fixed prose states none.

A chapter states a result-dependent finding with `say`, choosing the wording from the numbers of this run
(whatever its scale and data), instead of a fixed Markdown sentence that holds only for one run:

>>> say(f"News is {share:.0f}% of this corpus" if share else "This corpus has no news.")  # doctest: +SKIP

`check_chapter` reads a chapter's source (jupytext) and returns every sentence of its fixed prose (Markdown
cells: objectives, body, summary, exercise prompts and solutions; code comments and the constant strings a
code cell prints) that states a measured number or a direction (ahead, beats, fewer, falls, nearly ...) without
one of the marks that make a fixed sentence hold whatever the run gives. The marks (`DEVELOPERS.md`):

* the number is an equation or a constant of the method, written as math (``$p = 0.15$``, ``$15\\%$``) or
  code (`` `short_seq_prob` = 0.1 ``), a reference (Table 2, spec 1.3, section 3.5 of this book, which must
  exist) or an identifier (block 0, label 1);
* the sentence reports what a source says or did, not this run: the paper, its authors or their code, a cited
  work (``{cite}``); its quotations of the paper are the paper's words (`arlm.paper.quotes`);
* the sentence names the scale it holds for (`` `full` ``, `` `tiny` ``...), and every number in it is a
  setting of that scale (`arlm.scales.SCALES`); in a solution, whose conclusion its cell computes, only `full`
  (the paper's settings) counts;
* a general statement is hedged as one, clause by clause (usually, can, would, if, whether ...), and a number
  that follows from the definitions says so ("by construction").

Comparisons of this run with the paper ("as in the paper", "the paper's recipe", "claims hold") are never fixed
prose, and a question that presupposes its answer ("Why does X change nothing?") states it.
"""

import ast
import dataclasses
import io
import re
import sys
import tokenize
from pathlib import Path


def say(text):
    """Show ``text`` (Markdown) as a paragraph of the page: rendered in a notebook, printed elsewhere.

    Args:
        text (str): the sentence(s), Markdown allowed.
    """
    if "IPython" in sys.modules:
        from IPython import get_ipython

        if get_ipython() is not None:
            from IPython.display import Markdown, display

            display(Markdown(text))
            return
    print(text)


# ---- what fixed prose may not say ------------------------------------------------------------------------------

# A measured number: a decimal, a percentage, a ratio, a count with a thousands separator or a K/M/B suffix, a
# fraction in words. A plain small integer (128 tokens, 24 blocks, 4 heads) is a count of the method.
MEASURED = re.compile(
    r"(?<![\w.])\d+(?:\.\d+)?\s?(?:%|x\b|×|times\b|points?\b)"
    r"|(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?"
    r"|(?<![\w.])\d+(?:\.\d+)?\s?(?:[KMB]\b(?!/)|million\b|billion\b)"
    r"|(?<![\w.])\d+\.\d+(?![\w.])"
    r"|\b(?:a|one|two) (?:third|quarter|fifth)s?\b|\b(?:two|three|four|five|ten|hundred|\d+)-?fold\b",
    re.I)
# Words that say how results compare or move: true for one run, false for the next.
DIRECTION = re.compile(
    r"\b(?:ahead|beats?|beaten|better|worse|higher|lower|highest|lowest|fewer|"
    r"fewest|faster|slower|fastest|slowest|outperform\w*|exceed\w*|surpass\w*|improv\w*|hurts?|helps?|helped|"
    r"gains?|gained|wins?|won|loses?|dominat\w*|(?:largest|smallest)(?! (?:absolute |logit )*(?:difference|change))|"
    r"closer|closest|close to|nearly|almost|barely|hardly|far (?:from|below|above|ahead|behind|apart|more|less)|"
    r"falls?(?! back)|fell|rises?|rose|climbs?|climbed|moves?|moved|converg\w*|plateaus?|catch(?:es)? up|caught up|"
    r"resembl\w*|similar|no better|no worse|no difference|changes? nothing|nothing to|went (?:from|down|up)|"
    r"within (?:a|one|\d+) points?|"
    r"(?:above|below|behind)(?= (?:its|their|that|chance|the (?:majority|paper|teacher|student|baseline|TF-IDF|floor"
    r"|plateau|uniform|cap))\b))\b",
    re.I)
# A comparison of this run with the paper: computed, never fixed.
WITH_PAPER = re.compile(r"\b(?:as in the paper|unlike the paper|like the paper|the paper's recipe|"
                        r"as the paper (?:does|did)|same as the paper|claims? (?:\w+ ){0,3}holds?)\b", re.I)
REFERENCE = re.compile(
    r"\b(?:[Cc]hapters?|[Ss]ections?|spec(?: finding)?|Tables?|Figures?|appendix|Appendix|[Ee]xercises?|finding|"
    r"block|blocks|layer|layers|head|heads|phase|phases|label|labels|ids?|position|query|key|step|class|row|"
    r"column|seed|version|Keras|Python|TensorFlow|UD|SQuAD|v)\s+[A-D]?\d+(?:\.\d+)*(?:(?:,| and| or| to|-)\s*"
    r"\d+(?:\.\d+)*)*|\b[A-D]\.\d+\b|\bD\d+\b"
    r"|\b(?:30|50)K\b")  # the paper's names of its two vocabularies
SETTING = re.compile(r"=\s*-?[\d.,]+(?:e-?\d+)?%?")
ORDINAL = re.compile(r"\b\d+(?:st|nd|rd|th)\b")
# "section 1.7", "of 3.5", "(4.4)": a section of this book, which must exist
SECTION = re.compile(r"(?:^|\b(?:[Ss]ections?|in|of|see|from|under|and|to|at|as)\s+|\()([1-7])\.(\d{1,2})\b"
                     r"(?![\d%]|\s?x\b|\s?(?:billion|million|GB|MB)\b)")
# the sentence reports what a source says or did: the paper, its authors and their code, a cited work
SOURCE = re.compile(
    r"\b(?:(?:[Tt]he|[Ii]ts) paper|[Tt]he authors|BERT|MobileBERT|RoBERTa|TinyBERT|Google|Table \d)(?:'s)? "
    r"(?:\w+ ){0,2}?"
    r"(?:says?|reports?|finds?|found|prints?|plots?|writes?|uses?|used|trains?|trained|pretrains?|pretrained|"
    r"fine-tunes?|argues?|argument|claims?|compares?|gives?|lists?|counts?|shows?|describes?|notes?|states?|"
    r"calls?|keeps?|sets?|appl(?:y|ies|ied)|passes|runs?|ran|masks?|publishes|measured|evaluates?|removes?|"
    r"has|had)\b"
    r"|\baccording to\b|\bCITED\b|\bofficial\b|\blaunch scripts?\b|\btheir script\b"
    r"|\bauthors' (?:script|code|config|run|training)")
RUN = re.compile(r"\b(?:this run|this run's|in this run|ours|our|this scale|at this scale|printed|this machine|"
                 r"this corpus|these examples)\b", re.I)
# a general statement, or a question that presupposes no answer ("Why ...?" does)
HEDGE = re.compile(r"^(?!Why\b).*\?$|\b(?:usually|typically|often|tends? to|can|cannot|could|may|might|would|"
                   r"in general|by construction|by definition|in expectation|expected|expect|if|unless|whether|"
                   r"how)\b", re.I)
SCALE = re.compile(r"`(tiny|cpu|gpu|full)`")
# a number that follows from the definitions alone (int8 is a quarter of float32)
DEDUCED = re.compile(r"\bby (?:construction|definition)\b", re.I)


@dataclasses.dataclass(frozen=True)
class Sentence:
    """One sentence of a chapter's fixed prose."""

    chapter: str  # the chapter's file stem
    cell: int  # the cell's index in the notebook
    part: str  # objectives | body | summary | exercise | solution | comment | string
    text: str  # as written, markup included

    def __str__(self):
        return f"{self.chapter} cell {self.cell} ({self.part}): {' '.join(self.text.split())}"


def _strip_markup(text):
    """``text`` with what fixed prose may hold freely replaced by placeholders: math, code, roles, links."""
    text = re.sub(r"\$\$.*?\$\$", " MATH ", text, flags=re.S)
    text = re.sub(r"\$[^$\n]+?\$", " MATH ", text)
    text = SCALE.sub(lambda m: f" SCALE_{m.group(1)} ", text)
    text = re.sub(r"\{term\}`([^`<]*?)\s*(?:<[^>]*>)?`", r"\1", text)
    text = re.sub(r"\{(?:ref|doc|numref)\}`([^`<]*?)\s*(?:<[^>]*>)?`", r"\1", text)
    text = re.sub(r"\{cite(?::[pt])?\}`[^`]*`", " CITED ", text)
    text = re.sub(r"`[^`\n]*`", " CODE ", text)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"https?://\S+|<[^>]+>", " ", text)
    text = re.sub(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]+", " AR ", text)
    return " ".join(re.sub(r"\*\*|(?<!\w)\*|\*(?!\w)", "", text).split())


def _value(number):
    """The value of a written number ("10K", "2,000", "1.5e-3"), or None."""
    match = re.fullmatch(r"([\d,]*\.?\d+(?:e-?\d+)?)\s?([KMB]|million|billion)?", number.strip(), re.I)
    if not match:
        return None
    value = float(match.group(1).replace(",", ""))
    return value * {"k": 1e3, "m": 1e6, "b": 1e9, "million": 1e6, "billion": 1e9}.get((match.group(2) or "").lower(), 1)


def _scale_settings(scale):
    from arlm.scales import SCALES

    values = [float(v) for v in SCALES[scale].values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return set(values)


def problems(sentence, part="body", sections=None):
    """Why a sentence of fixed prose may not stand as written: a list of reasons, empty when it may.

    Args:
        sentence (str): one sentence (or clause), Markdown and MyST markup included.
        part (str): where it stands (`Sentence.part`). A solution's conclusion is computed by its cell: there, only
            the `full` scale (the paper's settings) makes a direction hold.
        sections (set[str] | None): the sections of this book (``"3.5"``); None skips the check.
    """
    from arlm import paper

    found = []
    text = _strip_markup(sentence)
    scales = re.findall(r"SCALE_(\w+)", text)
    scoped = [s for s in scales if s == "full" or part != "solution"]
    source = bool(SOURCE.search(text)) and not RUN.search(text)
    if sections is not None:
        for match in SECTION.finditer(text):
            if f"{match.group(1)}.{match.group(2)}" not in sections:
                found.append(f"section {match.group(1)}.{match.group(2)} does not exist")
    if re.search(r"\b(?:[Tt]he paper|paper's|Table \d)", text):
        for quoted in re.findall(r"\"([^\"]+)\"", text):
            if len(quoted.split()) > 2 and not paper.quotes(quoted):
                found.append(f"\"{quoted}\" is not in the paper's text")
    bare = SETTING.sub(" ", ORDINAL.sub(" ", REFERENCE.sub(" ", SECTION.sub(" ", text))))
    numbers = [m.group(0).strip() for m in MEASURED.finditer(bare)]
    if scales and numbers:
        allowed = set().union(*(_scale_settings(scale) for scale in scales))
        numbers = [n for n in numbers if _value(re.sub(r"\s?(%|x|×|times|points?)$", "", n)) not in allowed]
    elif source or DEDUCED.search(text):
        numbers = []
    if numbers:
        found.append("a measured number: " + ", ".join(f"'{n}'" for n in numbers))
    if not (source or scoped):
        # a hedge covers its own clause: "the line says how much shows: X is nearly full" still states X
        directions = [m.group(0) for clause in re.split(r"[:;]\s", text) if not HEDGE.search(clause)
                      for m in DIRECTION.finditer(clause)]
        if directions:
            found.append("a direction: " + ", ".join(f"'{d}'" for d in directions))
    found += [f"a comparison with the paper: '{m.group(0)}'" for m in WITH_PAPER.finditer(text)]
    return found


# ---- reading a chapter's fixed prose ---------------------------------------------------------------------------

_ABBREVIATIONS = re.compile(r"\b(e\.g|i\.e|vs|cf|etc|approx)\.")


def _sentences(markdown):
    """Split Markdown into sentences: paragraphs, list items and headings, then full stops."""
    markdown = re.sub(r"^```\{(?:exercise|solution)\}\s*", "", markdown, flags=re.M)
    markdown = re.sub(r"^```\w*\n.*?^```", "", markdown, flags=re.M | re.S)  # a shell or code example
    markdown = re.sub(r"^(?:```|:\w+:.*)$", "", markdown, flags=re.M)
    markdown = re.sub(r"^ex-\d+-\d+$", "", markdown, flags=re.M)
    protected = _ABBREVIATIONS.sub(lambda m: m.group(1).replace(".", "\0") + "\0", markdown)
    blocks = re.split(r"\n\s*\n|\n(?=\s*(?:[-*]|\d+\.) )|\n(?=#)", protected)
    for block in blocks:
        # a clause after a semicolon is a statement of its own (a hedge before it does not cover it)
        for part in re.split(r"(?<=[.!?])\s+(?=[A-Z(*\"$`{]|\d)|;\s+", block.strip()):
            part = re.sub(r"^\s*(?:[-*]|\d+\.|#+)\s+", "", part).replace("\0", ".").strip()
            if re.search(r"[A-Za-z]", part):
                yield part


def _code_prose(source):
    """The comments and the constant strings of several words of a code cell (an f-string is computed)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
        tree = ast.parse(source)
    except (SyntaxError, tokenize.TokenError):
        return
    for token in tokens:
        if token.type == tokenize.COMMENT:
            yield "comment", token.string.lstrip("#").strip()
    computed = {id(value) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for value in node.values}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in computed
                and len(node.value.split()) >= 3):
            yield "string", node.value


def static_sentences(path):
    """Every sentence of a chapter's fixed prose, as `Sentence`s.

    Args:
        path: the chapter's source (``chapters/0N_*.py``, jupytext percent format).
    """
    import jupytext

    path = Path(path)
    notebook = jupytext.read(path)
    part = "body"
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            heading = re.search(r"^## (.+)$", cell.source, re.M)
            if heading:
                part = {"Summary": "summary", "Exercises": "exercise"}.get(heading.group(1).strip(), "body")
            if "**Learning objectives**" in cell.source:
                part = "objectives"
            kind = ("solution" if "```{solution}" in cell.source else
                    "exercise" if "```{exercise}" in cell.source else part)
            for text in _sentences(cell.source):
                yield Sentence(path.stem, index, kind, text)
            if part == "objectives":
                part = "body"
        elif not {"parameters"} & set(cell.metadata.get("tags", [])) and "On Colab:" not in cell.source:
            for kind, prose in _code_prose(cell.source):
                for text in _sentences(prose):
                    yield Sentence(path.stem, index, kind, text)


def book_sections(folder):
    """``{"1.1", "1.2", ...}``: the numbered sections (``## N.M``) of the chapters in ``folder``."""
    return {f"{match.group(1)}.{match.group(2)}" for path in Path(folder).glob("0*.py")
            for match in re.finditer(r"^# ##+ ([1-7])\.(\d+)\b", path.read_text(encoding="utf-8"), re.M)}


def check_chapter(path, sections=None):
    """``[(Sentence, [reason, ...]), ...]``: the sentences of a chapter's fixed prose that state a result.

    Args:
        path: the chapter's source.
        sections (set[str] | None): `book_sections` (default: those of the chapter's folder).
    """
    sections = book_sections(Path(path).parent) if sections is None else sections
    found = []
    for sentence in static_sentences(path):
        reasons = problems(sentence.text, sentence.part, sections)
        if reasons:
            found.append((sentence, reasons))
    return found


# ---- the glossary ------------------------------------------------------------------------------------------------

def glossary_entries(path):
    """The entries of a MyST ``{glossary}`` block (``book/glossary.md``): one tuple of names per definition (an
    entry may have several, one per line, such as ``AT`` and ``attention transfer``)."""
    text = Path(path).read_text(encoding="utf-8")
    block = text[text.index("```{glossary}"):].split("\n```", 1)[0].splitlines()[1:]
    entries, names = [], []
    for line in block:
        if not line.strip() or line.startswith(":"):
            continue
        if line.startswith((" ", "\t")):
            if names:
                entries.append(tuple(names))
                names = []
        else:
            names.append(line.strip())
    return entries


def term_links(text):
    """The targets of the ``{term}`` roles in a page's text (`` {term}`text <target>` `` links to target), as
    written: a role broken over two lines keeps its line break, which a test can refuse."""
    return [(match.group(2) or match.group(1)).strip(" ")
            for match in re.finditer(r"\{term\}`([^`<]+?)(?:\s*<([^>]+)>)?`", text)]
