"""A user's own labelled texts: CSV, TSV or JSONL files read strictly, every bad row named by file and line.

* CSV/TSV: a header row naming the columns; standard quoting (a quoted cell may hold the delimiter).
* JSONL: one JSON object per line.

Labels are strings; their order is the sorted set of the **training** labels, and a dev/test label that training
never saw is an error (the model would have no output for it).

>>> train = read_labelled("train.csv", "text", "label")                        # doctest: +SKIP
>>> task = user_task("train.csv", "test.csv", None, "text", "label")            # doctest: +SKIP
"""

import csv
import json
from pathlib import Path

from arlm.errors import DatasetError
from arlm.tasks.loaders import Task, TextSplit

FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}


def file_format(path):
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise DatasetError(f"{path}: unknown file type {suffix!r}; use one of {', '.join(sorted(FORMATS))} "
                           "(CSV/TSV with a header row, or JSONL)")
    return FORMATS[suffix]


def _lines(path):
    """(line number, decoded line) of a UTF-8 file; an undecodable line is an error naming it."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                raise DatasetError(f"{path}:{number}: not UTF-8 text ({error.reason} at byte {error.start}); "
                                   "save the file as UTF-8") from None
            yield number, line


def _rows(path, kind):
    """(line number, dict of the row) for every data row."""
    if kind == "jsonl":
        for number, line in _lines(path):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise DatasetError(f"{path}:{number}: not a JSON object ({error.msg})") from None
            if not isinstance(row, dict):
                raise DatasetError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
            yield number, row
        return
    numbered = list(_lines(path))
    # csv.reader tracks physical lines itself (a quoted cell may span lines): give it the text, map back after
    reader = csv.reader((line for _, line in numbered), delimiter="," if kind == "csv" else "\t")
    header = None
    try:
        for cells in reader:
            number = reader.line_num
            if header is None:
                header = [c.strip() for c in cells]
                continue
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise DatasetError(f"{path}:{number}: {len(cells)} columns, but the header has {len(header)} "
                                   f"({', '.join(header)})")
            yield number, dict(zip(header, cells, strict=True))
    except csv.Error as error:
        raise DatasetError(f"{path}:{reader.line_num}: malformed {kind.upper()} ({error})") from None
    if header is None:
        raise DatasetError(f"{path}: the file is empty (expected a header row)")


def read_labelled(path, text_column, label_column):
    """(texts, labels as strings) of a CSV/TSV/JSONL file; errors name the file, line and column."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    texts, labels = [], []
    for number, row in _rows(path, file_format(path)):
        for column in (text_column, label_column):
            if column not in row:
                columns = ", ".join(map(str, row))
                raise DatasetError(f"{path}:{number}: no column {column!r}; the columns are: {columns}")
        text, label = row[text_column], row[label_column]
        if not isinstance(text, str) or not text.strip():
            raise DatasetError(f"{path}:{number}: empty text in column {text_column!r}")
        if label is None or not str(label).strip():
            raise DatasetError(f"{path}:{number}: empty label in column {label_column!r}")
        texts.append(text)
        labels.append(str(label).strip())
    if not texts:
        raise DatasetError(f"{path}: no data rows")
    return texts, labels


def _encode_labels(path, labels, names, label_column):
    index = {name: i for i, name in enumerate(names)}
    out = []
    for i, label in enumerate(labels):
        if label not in index:
            raise DatasetError(f"{path}: row {i + 1}: label {label!r} (column {label_column!r}) never occurs in the "
                               f"training file; training labels are: {', '.join(names)}")
        out.append(index[label])
    return out


def _with_lines(path, text_column, label_column):
    """Like `read_labelled`, but keeps line numbers for label errors."""
    kind = file_format(path)
    numbers = [number for number, _ in _rows(Path(path), kind)]
    texts, labels = read_labelled(path, text_column, label_column)
    return texts, labels, numbers


def user_task(train, test, dev, text_column, label_column, name="user"):
    """A classification `Task` from the user's files; without `dev`, dev is the test file (said in the notes)."""
    train_texts, train_labels = read_labelled(train, text_column, label_column)
    names = sorted(set(train_labels))
    if len(names) < 2:
        raise DatasetError(f"{train}: column {label_column!r} has a single label {names}; need at least two")
    splits = {}
    for key, path in (("test", test), ("dev", dev)):
        if path is None:
            continue
        texts, labels, numbers = _with_lines(path, text_column, label_column)
        index = {n: i for i, n in enumerate(names)}
        for label, number in zip(labels, numbers, strict=True):
            if label not in index:
                raise DatasetError(f"{path}:{number}: label {label!r} (column {label_column!r}) never occurs in "
                                   f"the training file {train}; training labels are: {', '.join(names)}")
        splits[key] = TextSplit(texts, [index[label] for label in labels])
    train_split = TextSplit(train_texts, _encode_labels(train, train_labels, names, label_column))
    dev_split = splits.get("dev", splits["test"])
    return Task(name, "classification", names, train_split, dev_split, splits["test"], dev is None, "", "accuracy",
                f"user data: train {train}, test {test}" + (f", dev {dev}" if dev else " (no dev file: dev = test)"))


def find_vocabulary(model, scale, vocab=None):
    """The vocabulary for `model`: `vocab` if given, else ``vocab.txt`` beside a ``.keras`` file (or named in its
    folder's ``index.json``), else chapter 1's ``runs/<scale>/01_corpus/vocab.txt``; None when there is none."""
    if vocab:
        if not Path(vocab).is_file():
            raise DatasetError(f"{vocab}: no such vocabulary file (parameter --vocab)")
        return Path(vocab)
    path = Path(str(model))
    if path.suffix == ".keras":
        index = path.parent / "index.json"
        if index.is_file():
            entry = json.loads(index.read_text(encoding="utf-8")).get(path.stem, {})
            named = entry.get("vocab")
            if named and Path(named).is_file():
                return Path(named)
        if (path.parent / "vocab.txt").is_file():
            return path.parent / "vocab.txt"
    chapter_one = Path("runs") / scale / "01_corpus" / "vocab.txt"
    return chapter_one if chapter_one.is_file() else None


def finetune_user(train, test, text_column, label_column, model, out, dev=None, scale="tiny", vocab=None,
                  verbose=1, **overrides):
    """Fine-tune `model` (a preset name or a ``.keras`` file) on the user's files; write ``out/metrics.json``,
    ``out/model.keras``, ``out/vocab.txt`` and ``out/index.json`` (so ``arlm export out`` works).

    `overrides` are scale keys (``finetune_epochs``, ``finetune_batch_size``, ``finetune_max_seq_length``,
    ``finetune_learning_rate``, ...). Without a vocabulary (a preset and no chapter 1 run), one is trained on the
    training texts at the scale's ``vocab_size``. Returns the metrics dict.
    """
    import shutil

    from arlm import scales
    from arlm.io import atomic_path, write_json
    from arlm.tasks import finetune as ft
    from arlm.tokenizer import WordPieceTokenizer, train_vocabulary

    cfg = scales.resolve(scale, **{"finetune_max_train_examples": 0, "finetune_max_eval_examples": 0, **overrides})
    task = user_task(train, test, dev, text_column, label_column)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    vocab_path = find_vocabulary(model, scale, vocab)
    if vocab_path is None:
        vocab_path = out / "vocab.txt"
        train_vocabulary(task.train.texts, cfg.vocab_size, vocab_path)
        vocab_note = f"trained on {train} ({cfg.vocab_size} tokens requested)"
    else:
        if vocab_path.resolve() != (out / "vocab.txt").resolve():
            shutil.copyfile(vocab_path, out / "vocab.txt")
        vocab_note = str(vocab_path)
    tokenizer = WordPieceTokenizer(out / "vocab.txt")
    backbone, source = ft.load_backbone(model, cfg, tokenizer.vocab_size)
    scores, classifier = ft.finetune_classification(task, backbone, tokenizer, cfg, verbose=verbose)
    result = {"accuracy": scores["accuracy"], "macro_f1": scores["macro_f1"], "test_examples": scores["count"],
              "train_examples": scores["train_examples"], "labels": task.labels, "model": source,
              "vocabulary": vocab_note, "scale": scale, "epochs": cfg.finetune_epochs,
              "batch_size": cfg.finetune_batch_size, "learning_rate": cfg.finetune_learning_rate,
              "max_seq_length": scores["max_seq_length"], "train_seconds": scores["train_seconds"],
              "notes": task.notes}
    if dev is not None:
        logits = classifier.predict(ft.encode_texts(task.dev.texts, tokenizer, scores["max_seq_length"]), verbose=0)
        from arlm.tasks.metrics import classification_scores

        dev_scores = classification_scores(task.dev.labels, logits.argmax(-1), len(task.labels))
        result.update(dev_accuracy=dev_scores["accuracy"], dev_macro_f1=dev_scores["macro_f1"])
    with atomic_path(out / "model.keras") as tmp:
        staging = tmp.with_name(tmp.name + ".keras")  # Keras insists on the suffix
        classifier.save(staging)
        staging.rename(tmp)
    write_json(out / "index.json", {"model": {"file": "model.keras", "task": "classification", "kind": "classification",
                                               "labels": task.labels,
                                               "max_seq_length": scores["max_seq_length"], "vocab": "vocab.txt"}})
    write_json(out / "metrics.json", result)
    return result
