"""A user's own labelled texts: CSV, TSV or JSONL files read strictly, every bad row named by file and line.

* CSV: a header row naming the columns; standard quoting (a quoted cell may hold the delimiter or a line break),
  read strictly (a quote that is never closed is an error, it does not swallow the rows after it). A header with
  semicolons and no comma makes the file semicolon-separated (what Excel writes where the comma is the decimal
  mark). A cell may be as long as the file.
* TSV: a header row; one row per line and no quoting at all (a ``"`` is an ordinary character).
* JSONL (``.jsonl``, ``.json``): JSON objects one after the other (one per line, or pretty-printed over
  several), or one JSON array of objects.
* A column named twice in a header, or a key given twice in a JSON object, is an error.
* Files are UTF-8 (with or without a BOM) unless `encoding` names another; a line that does not decode is an
  error naming it (`arlm.textfiles`).

Labels follow one rule (`LABEL_RULE`, also in ``arlm finetune --help``): a BOM and surrounding whitespace are
stripped; numbers are labels by value (JSONL ``1``, ``1.0`` and ``"1"`` are one label, named ``"1"``);
``true``/``false`` are a kind of their own; a file mixing kinds (``"1"``/``"0"`` with ``"pos"``/``"neg"``), or
with an empty, missing or NaN label, is an error naming the file and line. The label order is the sorted set of
the **training** labels (numbers by value), and a dev/test label that training never saw is an error (the model
would have no output for it). Text labels that differ only in case (``positive``, ``Positive``) are distinct
classes, with a `LabelCaseWarning` naming them, unless ``fold_label_case=True`` (``--fold-label-case``) makes
them one, spelled in lower case.

>>> train = read_labelled("train.csv", "text", "label")                        # doctest: +SKIP
>>> task = user_task("train.csv", "test.csv", None, "text", "label")            # doctest: +SKIP
"""

import csv
import json
import math
import re
import warnings
from pathlib import Path

from arlm.errors import DatasetError, ParameterError
from arlm.preprocessing import encode_texts
from arlm.tasks.loaders import Task, TextSplit
from arlm.textfiles import DEFAULT_ENCODING, numbered_lines, read_text

FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}
LABEL_RULE = ("Labels: a BOM and surrounding whitespace are stripped; numbers are labels by value (1, 1.0 and "
              "\"1\" are one label); true/false are a kind of their own; a file mixing kinds (numbers with text), "
              "or with an empty, missing or NaN label, is an error naming its line.")
FINETUNE_OUTPUTS = ("model.keras", "vocab.txt", "index.json", "metrics.json")  # what `finetune_user` writes
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_JSON_SPACE = re.compile(r"[ \t\n\r]*")


class LabelCaseWarning(UserWarning):
    """Training labels that differ only in case: distinct classes unless folded (`user_task`)."""


def file_format(path):
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise DatasetError(f"{path}: unknown file type {suffix!r}; use one of {', '.join(sorted(FORMATS))} "
                           "(CSV/TSV with a header row, or JSONL)")
    return FORMATS[suffix]


def label_name(value):
    """(kind, name) of a label cell under `LABEL_RULE`; kind is ``number``, ``true/false`` or ``text``.

    Raises `ValueError` with the reason for a missing, empty, NaN or non-scalar label.

    >>> label_name(1.0), label_name(" \ufeff1 "), label_name(True), label_name("pos")
    (('number', '1'), ('number', '1'), ('true/false', 'true'), ('text', 'pos'))
    """
    if value is None:
        raise ValueError("missing label (null)")
    if isinstance(value, bool):
        return "true/false", str(value).lower()
    if isinstance(value, int | float):
        return "number", _number_name(float(value), value)
    if not isinstance(value, str):
        raise ValueError(f"a label must be a string, a number or true/false, got a JSON {type(value).__name__}")
    text = value.replace("\ufeff", "").strip()
    if not text:
        raise ValueError("empty label")
    if text.lower() in ("true", "false"):
        return "true/false", text.lower()
    if _NUMBER.fullmatch(text):
        return "number", _number_name(float(text), value)
    if text.lower() == "nan":
        raise ValueError(f"label {value!r} is a missing value (NaN)")
    return "text", text


def _number_name(number, raw):
    if not math.isfinite(number):
        raise ValueError(f"label {raw!r} is not a finite number (NaN or infinity)")
    return str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)


class _DuplicateKey(Exception):
    pass


def _no_duplicate_keys(pairs):
    keys = [key for key, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise _DuplicateKey(key)
    return dict(pairs)


def _rows(path, kind, encoding=DEFAULT_ENCODING):
    """(line number, dict of the row) for every data row."""
    if kind == "jsonl":
        yield from _json_rows(path, encoding)
        return
    numbered = list(numbered_lines(path, encoding))
    # csv.reader tracks physical lines itself (a quoted CSV cell may span lines): give it the text, map back after.
    # TSV has no quoting: a cell that starts with '"' is text, not the start of a cell running over later rows.
    if kind == "csv":
        header_line = numbered[0][1] if numbered else ""
        delimiter = ";" if ";" in header_line and "," not in header_line else ","
        options = {"delimiter": delimiter, "strict": True}
    else:
        options = {"delimiter": "\t", "quoting": csv.QUOTE_NONE}
    reader = csv.reader((line for _, line in numbered), **options)
    header = None
    start = 1
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, Path(path).stat().st_size))  # no cell is longer than the file
    try:
        for cells in reader:
            number = reader.line_num
            if header is None:
                header = [c.replace("\ufeff", "").strip() for c in cells]
                _check_header(path, number, header)
                start = number + 1
                continue
            first, start = start, number + 1
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise DatasetError(f"{path}:{first}: {len(cells)} columns, but the header has {len(header)} "
                                   f"({', '.join(header)})")
            yield first, dict(zip(header, cells, strict=True))
    except csv.Error as error:
        hint = " (a quoted cell opened here is never closed?)" if "end of data" in str(error) else ""
        raise DatasetError(f"{path}:{start}: malformed {kind.upper()} ({error}){hint}") from None
    finally:
        csv.field_size_limit(limit)
    if header is None:
        raise DatasetError(f"{path}: the file is empty (expected a header row)")


def _json_rows(path, encoding):
    """(line number, object) of JSON objects one after the other (JSONL, or pretty-printed), or in one array."""
    text = read_text(path, encoding)
    decoder = json.JSONDecoder(object_pairs_hook=_no_duplicate_keys)
    position = _JSON_SPACE.match(text).end()
    in_array = text.startswith("[", position)
    if in_array:
        position = _JSON_SPACE.match(text, position + 1).end()
    line, counted = 1, 0
    while position < len(text):
        line, counted = line + text.count("\n", counted, position), position
        if in_array and text.startswith("]", position):
            if _JSON_SPACE.match(text, position + 1).end() < len(text):
                raise DatasetError(f"{path}:{line}: text after the end of the JSON array")
            return
        try:
            row, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            if error.pos >= len(text.rstrip()):
                raise DatasetError(f"{path}:{line}: not JSON ({error.msg}): the file ends before the value that "
                                   "starts on this line is complete") from None
            raise DatasetError(f"{path}:{error.lineno}: not JSON ({error.msg}, column {error.colno}); expected "
                               "JSON objects, one per line, or one array of objects") from None
        except _DuplicateKey as error:
            raise DatasetError(f"{path}:{line}: key {error.args[0]!r} appears twice in the object") from None
        if not isinstance(row, dict):
            raise DatasetError(f"{path}:{line}: expected a JSON object (one per row), got {type(row).__name__}")
        yield line, row
        position = _JSON_SPACE.match(text, end).end()
        if in_array:
            if text.startswith(",", position):
                position = _JSON_SPACE.match(text, position + 1).end()
            elif position < len(text) and not text.startswith("]", position):
                where = line + text.count("\n", counted, position)
                raise DatasetError(f"{path}:{where}: expected ',' or ']' after an object of the JSON array")
    if in_array:
        raise DatasetError(f"{path}: the JSON array is never closed (no ']' at the end)")


def _check_header(path, number, header):
    seen = {}
    for position, name in enumerate(header, 1):
        if name in seen:
            raise DatasetError(f"{path}:{number}: column {name!r} appears twice in the header (columns "
                               f"{seen[name]} and {position}); rename one")
        seen[name] = position


def _read(path, text_column, label_column, role="file", encoding=DEFAULT_ENCODING):
    """(texts, label names, line numbers) of a CSV/TSV/JSONL file; errors name the file, line and column."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: {'not a file' if path.exists() else 'no such file'} ({role})")
    texts, labels, numbers = [], [], []
    first_kind = None
    for number, row in _rows(path, file_format(path), encoding):
        for column in (text_column, label_column):
            if column not in row:
                raise DatasetError(f"{path}:{number}: no column {column!r}; the columns are: "
                                   f"{', '.join(map(str, row))}{_delimiter_hint(row)}")
        text = row[text_column]
        if not isinstance(text, str):
            raise DatasetError(f"{path}:{number}: the text in column {text_column!r} is a JSON "
                               f"{type(text).__name__}, expected a string")
        if not text.strip():
            raise DatasetError(f"{path}:{number}: empty text in column {text_column!r}")
        try:
            kind, label = label_name(row[label_column])
        except ValueError as error:
            raise DatasetError(f"{path}:{number}: {error} in column {label_column!r}") from None
        if first_kind is None:
            first_kind = (kind, label, number)
        elif kind != first_kind[0]:
            raise DatasetError(f"{path}:{number}: label {label!r} (column {label_column!r}) is {_a(kind)}, but the "
                               f"label {first_kind[1]!r} of line {first_kind[2]} is {_a(first_kind[0])}; the labels "
                               "of a file must all be numbers, all true/false or all text")
        texts.append(text)
        labels.append(label)
        numbers.append(number)
    if not texts:
        raise DatasetError(f"{path}: no data rows")
    return texts, labels, numbers


def _a(kind):
    return {"number": "a number", "true/false": "true/false", "text": "text"}[kind]


def _delimiter_hint(row):
    if len(row) == 1:
        (name,) = row
        for mark, what in ((";", "semicolons"), ("\t", "tabs"), (",", "commas")):
            if mark in str(name):
                return f" (the header is one column: is the file separated by {what}? name it .csv or .tsv)"
    return ""


def read_labelled(path, text_column, label_column, encoding=DEFAULT_ENCODING):
    """(texts, label names) of a CSV/TSV/JSONL file in `encoding`, labels under `LABEL_RULE`; errors name the file,
    line and column."""
    texts, labels, _ = _read(path, text_column, label_column, encoding=encoding)
    return texts, labels


def _sorted_labels(labels):
    # numbers by value (2 before 10), anything else as text
    try:
        return sorted(set(labels), key=float)
    except ValueError:
        return sorted(set(labels))


def user_task(train, test, dev, text_column, label_column, name="user", encoding=DEFAULT_ENCODING,
              fold_label_case=False):
    """A classification `Task` from the user's files; without `dev`, dev is the test file (said in the notes).

    Training labels that differ only in case are one class with `fold_label_case` (every label lower-cased),
    else distinct classes and a `LabelCaseWarning` naming them."""
    if text_column == label_column:
        raise ParameterError(f"the text and the label column are both {text_column!r} "
                             "(parameters --text-column and --label-column)")
    files = {"train": train, "test": test, **({"dev": dev} if dev is not None else {})}
    read = {key: _read(path, text_column, label_column, f"{key} file (parameter --{key})", encoding)
            for key, path in files.items()}
    if fold_label_case:
        read = {key: (texts, [label.lower() for label in labels], numbers)
                for key, (texts, labels, numbers) in read.items()}
    train_texts, train_labels, _ = read["train"]
    _warn_about_case(train, label_column, train_labels)
    names = _sorted_labels(train_labels)
    if len(names) < 2:
        raise DatasetError(f"{train}: column {label_column!r} has a single label {names}; need at least two")
    index = {n: i for i, n in enumerate(names)}
    splits = {}
    for key in ("train", "test", "dev"):
        if key not in read:
            continue
        texts, labels, numbers = read[key]
        for label, number in zip(labels, numbers, strict=True):
            if label not in index:
                raise DatasetError(f"{files[key]}:{number}: label {label!r} (column {label_column!r}) never occurs "
                                   f"in the training file {train}; training labels are: {', '.join(names)}")
        splits[key] = TextSplit(texts, [index[label] for label in labels])
    dev_split = splits.get("dev", splits["test"])
    return Task(name, "classification", names, splits["train"], dev_split, splits["test"], dev is None, "",
                "accuracy",
                f"user data: train {train}, test {test}" + (f", dev {dev}" if dev else " (no dev file: dev = test)"))


def _warn_about_case(path, label_column, labels):
    spellings = {}
    for label in dict.fromkeys(labels):
        spellings.setdefault(label.lower(), []).append(label)
    clashes = [group for group in spellings.values() if len(group) > 1]
    if clashes:
        named = "; ".join(", ".join(map(repr, group)) for group in clashes)
        warnings.warn(LabelCaseWarning(
            f"{path}: labels that differ only in case (column {label_column!r}) are distinct classes: {named}; "
            "pass --fold-label-case (fold_label_case=True) to make each group one class"), stacklevel=3)


def find_vocabulary(model, scale, vocab=None):
    """The vocabulary for `model`: `vocab` if given, else the vocabulary of a preset saved with one, else
    ``vocab.txt`` beside a ``.keras`` file (or named in its folder's ``index.json``), else chapter 1's
    ``runs/<scale>/01_corpus/vocab.txt``; None when there is none.

    The file found is checked (`arlm.tokenizer.read_vocabulary`): a bad one is an error naming it."""
    from arlm.tokenizer import read_vocabulary

    found = _vocabulary_path(model, scale, vocab)
    if found is not None:
        read_vocabulary(found, parameter="--vocab")
    return found


def _vocabulary_path(model, scale, vocab):
    if vocab:
        if not Path(vocab).is_file():
            raise DatasetError(f"{vocab}: no such vocabulary file (parameter --vocab)")
        return Path(vocab)
    path = Path(str(model))
    from arlm.preset_format import VOCABULARY_FILE, is_preset, preset_file

    if path.suffix != ".keras" and is_preset(model):
        shipped = preset_file(model, VOCABULARY_FILE, "--model")
        if shipped is None:  # its embeddings belong to the vocabulary it was trained with: never a new one
            raise DatasetError(f"{model}: the preset has no vocabulary ({VOCABULARY_FILE} is missing); pass --vocab "
                               "with the vocabulary its model was trained with")
        return shipped
    if path.suffix == ".keras":
        index = path.parent / "index.json"
        if index.is_file():
            try:
                entries = json.loads(index.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise DatasetError(f"{index}: not a JSON index of models ({error}); pass --vocab") from None
            entry = entries.get(path.stem, {}) if isinstance(entries, dict) else {}
            named = entry.get("vocab") if isinstance(entry, dict) else None
            for candidate in ((path.parent / named, Path(named)) if named else ()):
                if candidate.is_file():
                    return candidate
        if (path.parent / "vocab.txt").is_file():
            return path.parent / "vocab.txt"
    chapter_one = Path("runs") / scale / "01_corpus" / "vocab.txt"
    return chapter_one if chapter_one.is_file() else None


def baseline_verdict(result):
    """One line comparing a fine-tuned `result` (of `finetune_user`) with its baselines."""
    accuracy, majority, tfidf = result["accuracy"], result["majority_accuracy"], result["tfidf_lr_accuracy"]
    line = f"baselines on the same split: majority class {majority:.4f}, TF-IDF + logistic regression {tfidf:.4f}"
    if accuracy <= majority:
        return line + ": the model does not beat the majority class (it has learned nothing usable)"
    if accuracy <= tfidf:
        return line + ": the model does not beat TF-IDF (a bag of n-grams does as well)"
    return line + ": the model beats both"


def finetune_user(train, test, text_column, label_column, model, out, dev=None, scale="tiny", vocab=None,
                  verbose=1, encoding=DEFAULT_ENCODING, fold_label_case=False, **overrides):
    """Fine-tune `model` (a configuration name, random weights, or a saved model: a ``.keras`` file, a preset folder,
    a keras-hub handle, a packaged preset) on the user's files; write ``out/metrics.json``,
    ``out/model.keras``, ``out/vocab.txt`` and ``out/index.json`` (so ``arlm export out`` works).

    `overrides` are scale keys (``finetune_epochs``, ``finetune_batch_size``, ``finetune_max_seq_length``,
    ``finetune_learning_rate``, ...). A configuration name (random weights) without a vocabulary (no `vocab`, no
    chapter 1 run) gets one trained on the training texts at the scale's ``vocab_size``; a saved model without
    one is an error (its embeddings belong to the vocabulary it was trained with). `encoding` and
    `fold_label_case` are `user_task`'s. Every input is checked before anything is written, and `out` is
    replaced as a whole (`arlm.files.staged_dir`) only when the run succeeds: a failure leaves it as it was. `out`
    may hold only the files above (an earlier output); anything else there is an error. Returns the metrics dict.
    """
    import shutil

    from arlm import scales
    from arlm.files import check_out_dir, staged_dir, write_json
    from arlm.preset_format import check_model_source
    from arlm.saving import save_model
    from arlm.tasks import baselines
    from arlm.tasks import finetune as ft
    from arlm.tokenizer import WordPieceTokenizer, train_vocabulary

    cfg = scales.resolve(scale, **{"finetune_max_train_examples": 0, "finetune_max_eval_examples": 0, **overrides})
    task = user_task(train, test, dev, text_column, label_column, encoding=encoding, fold_label_case=fold_label_case)
    out = check_out_dir(out, FINETUNE_OUTPUTS)
    configuration = isinstance(model, str) and model in ft.CONFIG_NAMES
    if not configuration:
        check_model_source(model, "--model")
    vocab_path = find_vocabulary(model, scale, vocab)
    if vocab_path is None and not configuration:
        raise DatasetError(f"{model}: no vocabulary found for this saved model (no vocab.txt beside it, none in its "
                           f"index.json, no runs/{scale}/01_corpus/vocab.txt); pass --vocab with the vocabulary it "
                           "was trained with")
    with staged_dir(out) as staging:
        if vocab_path is None:
            train_vocabulary(task.train.texts, cfg.vocab_size, staging / "vocab.txt")
            vocab_note = f"trained on {train} ({cfg.vocab_size} tokens requested)"
        else:
            shutil.copyfile(vocab_path, staging / "vocab.txt")
            vocab_note = str(vocab_path)
        tokenizer = WordPieceTokenizer(staging / "vocab.txt")
        backbone, source = ft.load_backbone(model, cfg, tokenizer.vocab_size)
        positions = backbone.config.max_position_embeddings
        if cfg.finetune_max_seq_length > positions:
            raise ParameterError(f"max_seq_length {cfg.finetune_max_seq_length} is more than the model's {positions} "
                                 "positions (parameter --max-seq-length)")
        scores, classifier = ft.finetune_classification(task, backbone, tokenizer, cfg, verbose=verbose)
        result = {"accuracy": scores["accuracy"], "macro_f1": scores["macro_f1"], "test_examples": scores["count"],
                  "train_examples": scores["train_examples"], "labels": task.labels, "model": source,
                  "vocabulary": vocab_note, "scale": scale, "epochs": cfg.finetune_epochs,
                  "batch_size": cfg.finetune_batch_size, "learning_rate": cfg.finetune_learning_rate,
                  "max_seq_length": scores["max_seq_length"], "train_seconds": scores["train_seconds"],
                  "notes": task.notes, **baselines.baseline_scores(task.train, task.test, cfg.seed)}
        if dev is not None:
            from arlm.fitting import predict
            from arlm.tasks.metrics import classification_scores

            features = encode_texts(task.dev.texts, tokenizer, scores["max_seq_length"])
            logits = predict(classifier, features, scores["batch_size"])
            dev_scores = classification_scores(task.dev.labels, logits.argmax(-1), len(task.labels))
            result.update(dev_accuracy=dev_scores["accuracy"], dev_macro_f1=dev_scores["macro_f1"])
        save_model(classifier, staging / "model.keras")
        write_json(staging / "index.json", {"model": {
            "file": "model.keras", "task": "classification", "kind": "classification", "labels": task.labels,
            "max_seq_length": scores["max_seq_length"], "vocab": "vocab.txt"}})
        write_json(staging / "metrics.json", result)
    return result
