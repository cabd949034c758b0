"""The paper's eight fine-tuning tasks (Table 3), plus ASTD 4-class and the embedded hadith task, as `Task`s.

Every loader reads files through `arlm.datasets.path`, so the mirror (``ARLM_DATA_DIR``), the cache and a
verified download are tried in that order; a task whose files cannot be had raises `DatasetError`.

Splits (spec 5.1, data READMEs):

* AJGT, ArSenTD-LEV, TEAD: the authors' random 80/20 split, whose ``dev.tsv`` **is** ``test.tsv``;
* ASTD (balanced binary, the paper's "ASTD") and ASTD 4-class: the official ASTD split (a real dev set);
* PADT: the standard UD split (syntactic words; ``CCONJ``/``SCONJ`` become the paper's UD v1 ``CONJ``);
* ARCD: SOQAL's ``arcd-train``/``arcd-test`` (the paper gives no protocol; there is no dev set, so dev = test);
* HARD: the balanced release, split 80/20 with a fixed seed like the authors' other splits (dev = test);
* LABR: the official ``2class-unbalanced`` split (ratings 1-2 vs 4-5), dev = test;
* hadith (embedded, offline default): Bukhari vs Muslim on the records `arlm.corpus.is_task_record` holds out of
  pretraining, split 80/10/10.

Where dev equals test, ``load_task(name, dev="held_out")`` carves a stratified dev set out of train instead.

>>> task = load_task("ajgt")                                 # doctest: +SKIP
>>> task.dev_is_test, len(task.train), task.labels
(True, 1440, ['Negative', 'Positive'])
"""

import csv
import dataclasses
import io
import json
import random

from arlm import datasets
from arlm.errors import DatasetError, ParameterError
from arlm.preprocessing.qa import QAExample

KINDS = ("classification", "tagging", "qa")
# the paper's UPOS label list (spec 5.2, authors' run_pos.py): id order matters for the paper's metric
POS_LABELS = ("[PAD]", "ADJ", "ADP", "ADV", "AUX", "CONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
              "PUNCT", "SYM", "VERB", "X", "[CLS]", "[SEP]")
UD2_TO_UD1 = {"CCONJ": "CONJ", "SCONJ": "CONJ"}  # the authors' list predates UD v2's split of CONJ
MULTIWORD_TAG = "_"  # PADT range rows (a surface token split into syntactic words)


@dataclasses.dataclass
class TextSplit:
    """Sentence classification: raw texts and integer labels (indices into `Task.labels`)."""

    texts: list
    labels: list

    def __len__(self):
        return len(self.texts)

    def subset(self, indices):
        return TextSplit([self.texts[i] for i in indices], [self.labels[i] for i in indices])


@dataclasses.dataclass
class TagSplit:
    """Token tagging: sentences as lists of words and their tags (names)."""

    sentences: list
    tags: list

    def __len__(self):
        return len(self.sentences)

    @property
    def labels(self):  # one label per sentence is meaningless; stratify on nothing
        return [0] * len(self.sentences)

    def subset(self, indices):
        return TagSplit([self.sentences[i] for i in indices], [self.tags[i] for i in indices])


@dataclasses.dataclass
class QASplit:
    examples: list

    def __len__(self):
        return len(self.examples)

    @property
    def labels(self):
        return [0] * len(self.examples)

    def subset(self, indices):
        return QASplit([self.examples[i] for i in indices])


@dataclasses.dataclass
class Task:
    """A loaded task: its splits, label names, metric and how its splits were made."""

    name: str
    kind: str  # classification | tagging | qa
    labels: list
    train: object
    dev: object
    test: object
    dev_is_test: bool
    paper_name: str  # the row of the paper's Table 3
    metric: str  # accuracy | padt | squad
    notes: str = ""

    def summary(self):
        return {"task": self.name, "kind": self.kind, "paper_name": self.paper_name, "labels": list(self.labels),
                "train": len(self.train), "dev": len(self.dev), "test": len(self.test),
                "dev_is_test": self.dev_is_test, "metric": self.metric, "notes": self.notes}


# -- file readers ---------------------------------------------------------------------------------------

def _decode(path):
    raw = path.read_bytes()
    encoding = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise DatasetError(f"{path}:{line}: not {encoding} text ({error.reason})") from None


def read_paper_tsv(path, num_labels):
    """The authors' split files: no header, columns (id, label, aux, text); label in 0..num_labels-1."""
    texts, labels = [], []
    for number, line in enumerate(_decode(path).split("\n"), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 4:
            raise DatasetError(f"{path}:{number}: expected 4 tab-separated columns (id, label, aux, text), "
                               f"got {len(fields)}")
        label = fields[1].strip()
        if not label.isdigit() or int(label) >= num_labels:
            raise DatasetError(f"{path}:{number}: label {label!r} is not one of 0..{num_labels - 1}")
        texts.append("\t".join(fields[3:]))
        labels.append(int(label))
    return TextSplit(texts, labels)


def read_padt(path):
    """PADT FORM/UPOS lines ``w1 .. wn<TAB>t1 .. tn``: syntactic words, range rows dropped, UD v2 -> UD v1 tags."""
    sentences, tags = [], []
    for number, line in enumerate(_decode(path).split("\n"), 1):
        if not line.strip():
            continue
        try:
            forms, upos = line.split("\t")
        except ValueError:
            raise DatasetError(f"{path}:{number}: expected 'words<TAB>tags'") from None
        forms, upos = forms.split(" "), upos.split(" ")
        if len(forms) != len(upos):
            raise DatasetError(f"{path}:{number}: {len(forms)} words but {len(upos)} tags")
        kept = [(w, UD2_TO_UD1.get(t, t)) for w, t in zip(forms, upos, strict=True) if t != MULTIWORD_TAG and w]
        unknown = {t for _, t in kept} - set(POS_LABELS)
        if unknown:
            raise DatasetError(f"{path}:{number}: unknown UPOS tag(s) {sorted(unknown)}")
        sentences.append([w for w, _ in kept])
        tags.append([t for _, t in kept])
    return TagSplit(sentences, tags)


def read_squad(path):
    """SQuAD v1.1 JSON (ARCD): one `QAExample` per question."""
    try:
        data = json.loads(_decode(path))["data"]
    except (json.JSONDecodeError, KeyError) as error:
        raise DatasetError(f"{path}: not SQuAD v1.1 JSON ({error})") from None
    examples = []
    for article in data:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = [a["text"] for a in qa["answers"]]
                start = qa["answers"][0]["answer_start"] if qa["answers"] else -1
                examples.append(QAExample(str(qa["id"]), article.get("title", ""), qa["question"],
                                          paragraph["context"], answers, int(start)))
    return QASplit(examples)


def _index_file(path):
    return [int(line) for line in _decode(path).split("\n") if line.strip()]


# -- splits -----------------------------------------------------------------------------------------------

def stratified_split(labels, fraction, seed):
    """Indices (kept, held_out): `fraction` of each label held out, chosen with `seed`."""
    if not 0 < fraction < 1:
        raise ParameterError(f"the held-out fraction must be in (0, 1), got {fraction}")
    rng = random.Random(seed)
    by_label = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    kept, held = [], []
    for indices in by_label.values():
        rng.shuffle(indices)
        n = max(1, round(fraction * len(indices))) if len(indices) > 1 else 0
        held += indices[:n]
        kept += indices[n:]
    return sorted(kept), sorted(held)


def with_held_out_dev(task, fraction=0.1, seed=12345):
    """A copy of `task` whose dev set is a stratified `fraction` of train (no longer the test set)."""
    kept, held = stratified_split(task.train.labels, fraction, seed)
    note = f"dev = {len(held)} examples held out of the paper's train split (seed {seed})"
    return dataclasses.replace(task, train=task.train.subset(kept), dev=task.train.subset(held), dev_is_test=False,
                               notes=f"{task.notes}; {note}" if task.notes else note)


# -- the tasks --------------------------------------------------------------------------------------------

def _paper_tsv_task(name, registry, labels, paper_name, dev_is_test, notes):
    splits = {key: read_paper_tsv(datasets.path(registry, key), len(labels)) for key in ("train", "dev", "test")}
    return Task(name, "classification", list(labels), splits["train"], splits["dev"], splits["test"], dev_is_test,
                paper_name, "accuracy", notes)


def load_ajgt():
    return _paper_tsv_task("ajgt", "ajgt", ("Negative", "Positive"), "AJGT", True,
                           "authors' random 80/20 split; dev.tsv is byte-identical to test.tsv")


def load_arsentd_lev():
    return _paper_tsv_task("arsentd_lev", "arsentd_lev",
                           ("negative", "positive", "neutral", "very_negative", "very_positive"), "ArSenTD-LEV", True,
                           "authors' random 80/20 split, 5 classes; dev.tsv is identical to test.tsv")


def load_tead():
    return _paper_tsv_task("tead", "tead", ("0", "1"), "TEAD", True,
                           "authors' 4,000-tweet subset, 80/20; dev = test; label polarity undocumented")


def load_astd_b():
    return _paper_tsv_task("astd_b", "astd_b", ("NEG", "POS"), "ASTD", False,
                           "balanced binary: POS/NEG of the official 4class-balanced split (real dev set)")


def load_astd():
    return _paper_tsv_task("astd", "astd", ("POS", "NEG", "NEUTRAL", "OBJ"), "", False,
                           "official 4class-balanced split (not in the paper)")


def load_padt():
    splits = {key: read_padt(datasets.path("padt", key)) for key in ("train", "dev", "test")}
    return Task("padt", "tagging", list(POS_LABELS), splits["train"], splits["dev"], splits["test"], False, "PADT",
                "padt", "standard UD split; syntactic words (multi-word range rows dropped); CCONJ/SCONJ -> CONJ")


def load_arcd():
    train, test = read_squad(datasets.path("arcd", "train")), read_squad(datasets.path("arcd", "test"))
    return Task("arcd", "qa", [], train, test, test, True, "ARCD", "squad",
                "SOQAL split: train on arcd-train (693 Q), evaluate on arcd-test (702 Q); no dev set, dev = test")


def _random_80_20(texts, labels, seed):
    train_idx, test_idx = stratified_split(labels, 0.2, seed)
    split = TextSplit(texts, labels)
    return split.subset(train_idx), split.subset(test_idx)


def read_hard(path):
    """HARD ``balanced-reviews.txt``: header row, columns no, Hotel name, rating, user type, room type, nights, review
    (or the README's rating, sentiment, ..., review); positive = rating 4-5, negative = rating 1-2."""
    rows = list(csv.reader(io.StringIO(_decode(path)), delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows:
        raise DatasetError(f"{path}: empty file")
    header = [h.strip().lower() for h in rows[0]]
    if "rating" not in header or "review" not in header:
        raise DatasetError(f"{path}:1: expected a header with 'rating' and 'review' columns, got {rows[0]}")
    for name in ("rating", "review"):
        if header.count(name) > 1:
            raise DatasetError(f"{path}:1: column {name!r} appears {header.count(name)} times in the header")
    rating, review = header.index("rating"), header.index("review")
    texts, labels = [], []
    for number, row in enumerate(rows[1:], 2):
        if len(row) <= max(rating, review) or not row[review].strip():
            continue
        try:
            stars = int(float(row[rating]))
        except ValueError:
            raise DatasetError(f"{path}:{number}: rating {row[rating]!r} is not a number") from None
        if stars != 3:
            texts.append(row[review])
            labels.append(int(stars >= 4))
    return texts, labels


def load_hard(seed=12345):
    texts, labels = read_hard(datasets.path("hard", "balanced"))
    train, test = _random_80_20(texts, labels, seed)
    return Task("hard", "classification", ["negative", "positive"], train, test, test, True, "HARD", "accuracy",
                f"balanced release, random 80/20 (seed {seed}; the authors' split is lost); dev = test")


def load_labr(variant="unbalanced"):
    if variant not in ("balanced", "unbalanced"):
        raise ParameterError(f"LABR variant must be 'balanced' or 'unbalanced', got {variant!r}")
    reviews_path = datasets.path("labr", "reviews")
    reviews = _decode(reviews_path).split("\n")

    def split(key):
        texts, labels = [], []
        for index in _index_file(datasets.path("labr", f"2class-{variant}-{key}")):
            fields = reviews[index].split("\t")
            if len(fields) < 5:
                raise DatasetError(f"{reviews_path}:{index + 1}: expected rating, review id, user id, book id, review")
            stars = int(fields[0])
            if stars == 3:
                raise DatasetError(f"{reviews_path}:{index + 1}: a 3-star review is listed in the 2-class {key} split")
            texts.append("\t".join(fields[4:]))
            labels.append(int(stars >= 4))
        return TextSplit(texts, labels)

    test = split("test")
    return Task("labr", "classification", ["negative", "positive"], split("train"), test, test, True, "LABR",
                "accuracy", f"official 2class-{variant} split (ratings 1-2 vs 4-5); no dev set, dev = test")


def load_hadith(seed=12345):
    """The embedded default task: which collection (Bukhari or Muslim) a held-out hadith comes from."""
    from arlm.corpus import hadith_records, is_task_record

    records = [r for r in hadith_records() if is_task_record(r)]
    labels_names = ["bukhari", "muslim"]
    texts = [r["text"] for r in records]
    labels = [labels_names.index(r["collection"]) for r in records]
    rest, test_idx = stratified_split(labels, 0.1, seed)
    pool = TextSplit(texts, labels)
    rest_split = pool.subset(rest)
    train_idx, dev_idx = stratified_split(rest_split.labels, 1 / 9, seed)
    return Task("hadith", "classification", labels_names, rest_split.subset(train_idx), rest_split.subset(dev_idx),
                pool.subset(test_idx), False, "", "accuracy",
                "embedded default task: every 10th hadith (held out of pretraining), Bukhari vs Muslim, 80/10/10")


LOADERS = {
    "ajgt": load_ajgt, "hard": load_hard, "astd_b": load_astd_b, "arsentd_lev": load_arsentd_lev, "labr": load_labr,
    "tead": load_tead, "padt": load_padt, "arcd": load_arcd, "astd": load_astd, "hadith": load_hadith,
}
PAPER_TASKS = ("ajgt", "hard", "arsentd_lev", "labr", "tead", "astd_b", "padt", "arcd")  # Table 3's order
# files each task needs, to tell offline availability without reading them
REQUIRED_FILES = {
    "ajgt": [("ajgt", k) for k in ("train", "dev", "test")],
    "hard": [("hard", "balanced")],
    "astd_b": [("astd_b", k) for k in ("train", "dev", "test")],
    "astd": [("astd", k) for k in ("train", "dev", "test")],
    "arsentd_lev": [("arsentd_lev", k) for k in ("train", "dev", "test")],
    "labr": [("labr", "reviews"), ("labr", "2class-unbalanced-train"), ("labr", "2class-unbalanced-test")],
    "tead": [("tead", k) for k in ("train", "dev", "test")],
    "padt": [("padt", k) for k in ("train", "dev", "test")],
    "arcd": [("arcd", "train"), ("arcd", "test")],
    "hadith": [("hadith", "text")],
}


def available(name):
    """True when every file of task `name` is readable without the network."""
    _check(name)
    return all(datasets.available(*entry) for entry in REQUIRED_FILES[name])


def _check(name):
    if name not in LOADERS:
        raise ParameterError(f"unknown task {name!r}; tasks are: {', '.join(LOADERS)}")


def load_task(name, dev="paper", held_out_fraction=0.1, seed=12345):
    """Load task `name`. ``dev="paper"`` keeps the paper's dev split (which may be the test set, see
    `Task.dev_is_test`); ``dev="held_out"`` holds a stratified `held_out_fraction` of train out as dev."""
    _check(name)
    if dev not in ("paper", "held_out"):
        raise ParameterError(f"dev must be 'paper' or 'held_out', got {dev!r}")
    task = LOADERS[name]()
    return with_held_out_dev(task, held_out_fraction, seed) if dev == "held_out" else task
