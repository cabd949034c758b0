"""The concept quizzes of the book: at least five questions per chapter, multiple choice or numeric, each
mapped to one of the chapter's learning objectives (its number in the chapter's list). A numeric answer is
computed from the library, the paper's tables or a scale preset, never typed in; no answer depends on a run.
`display` shows a chapter's quiz with jupyterquiz: answered in the page with feedback, no server.
"""

import math

from arlm.book import bidi


def choice(objective, question, right, *wrong):
    """A multiple-choice question: `right` and each of `wrong` are ``(answer, feedback)``."""
    answers = [{"answer": text, "correct": True, "feedback": feedback} for text, feedback in [right]]
    answers += [{"answer": text, "correct": False, "feedback": feedback} for text, feedback in wrong]
    return {"objective": objective, "question": question, "type": "multiple_choice", "answers": answers}


def numeric(objective, question, value, why, tolerance=0.0):
    """A numeric question whose answer is `value`, within a relative `tolerance`; `why` explains it."""
    low, high = value * (1 - tolerance), value * (1 + tolerance)
    answers = ([{"type": "value", "value": value, "correct": True, "feedback": f"Right: {why}"}] if not tolerance
               else [{"type": "range", "range": [min(low, high), max(low, high) + 1e-12], "correct": True,
                      "feedback": f"Right: {why}"}])
    answers.append({"type": "default", "feedback": f"Not quite. {why[0].upper()}{why[1:]}"})
    return {"objective": objective, "question": question, "type": "numeric", "precision": 4,
            "answer_value": value, "answers": answers}


def _masked(length, cap, prob=0.15):
    return min(cap, max(1, round(prob * length)))


def _corpus():
    full = _full()
    n, cap = full.max_seq_length, full.max_predictions_per_seq
    return [
        choice(2, "What does the book's normalizer (`arlm.text.normalize`) do with the diacritics of a word?",
               ("It removes them, with the tatweel", "Right: one spelling per word, as the vocabulary sees it."),
               ("It keeps them, so that the vocabulary learns vowelled forms", "No: they are stripped up front."),
               ("It turns each diacritic into a token of its own", "No: they are removed, not split off.")),
        numeric(4, "BERT masks 15% of an example's tokens, at most `max_predictions_per_seq`. How many positions "
                   "does a full 128-token example get with a cap of 20?", _masked(128, 20),
                "by construction, 0.15 x 128 = 19.2 rounds to 19, under the cap."),
        numeric(4, f"And a full example of the paper's {n} tokens, with its cap of {cap}?", _masked(n, cap),
                f"by construction, 0.15 x {n} = {0.15 * n:.1f} and the cap of {cap} binds."),
        choice(5, "How does dynamic masking (RoBERTa) differ from BERT's static masking?",
               ("It draws new masked positions each time an example is read",
                "Right: static masking fixes them when the data is written (one draw per copy)."),
               ("It masks a larger share of the tokens", "No: by construction both mask the same share."),
               ("It masks whole words instead of pieces", "No: that is whole-word masking, another option.")),
        choice(3, "Why does a larger vocabulary usually split a held-out word into fewer pieces?",
               ("It holds more whole words and longer pieces",
                "Right: it can keep more words whole, so fewer of them need `##` continuations."),
               ("It was trained on more text", "No: both vocabularies are trained on the same lines."),
               ("It normalizes the text more strongly", "No: the normalization is the same.")),
        choice(1, "Why does the corpus keep its document boundaries?",
               ("Next-sentence prediction pairs a segment with the next one of the same document",
                "Right: negatives come from other documents, positives from the same one."),
               ("WordPiece training needs them", "No: the vocabulary is trained on lines."),
               ("To remove duplicate documents", "No: duplicates are found by their text.")),
    ]


def _teacher():
    import arlm

    table4 = {r["model"]: r["parameters_millions"] for r in arlm.paper.table("table4_sizes")}
    return [
        numeric(2, "How many million parameters does Table 4 give IBERTA, the teacher?", table4["IBERTA"],
                f"Table 4 lists {table4['IBERTA']}M; the preset reproduces it (exercise 2.1).", tolerance=0.02),
        choice(1, "What does MobileBERT's trigram embedding feed into its projection?",
               ("The embeddings of the previous, current and next token, concatenated (3E values)",
                "Right: a width-3 convolution, projected from 3E to H."),
               ("Three embeddings of the same token, for word, position and segment", "No: those are added later."),
               ("The character trigrams of the word", "No: it works on WordPiece ids.")),
        choice(3, "What does LAMB add to Adam?",
               ("A per-layer trust ratio that scales each layer's step by its weight norm over its update norm",
                "Right: that is what lets it train with very large batches."),
               ("A second moment per layer instead of per weight", "No: the moments are Adam's."),
               ("Gradient clipping by value", "No: the trust ratio scales, it does not clip.")),
        choice(4, "Which loss pretrains the teacher?",
               ("Masked-LM cross-entropy plus next-sentence cross-entropy", "Right: L = L_MLM + L_NSP."),
               ("Masked-LM alone, as RoBERTa", "No: the paper keeps BERT's NSP."),
               ("A distillation loss from AraBERT", "No: the teacher is pretrained from scratch.")),
        numeric(1, "With the official code's mask of -6, what weight does one padded key get relative to a real "
                   "key of logit 0 (e^-6, to three significant digits)?", math.exp(-6),
                "by definition e^-6 is about 0.00248: small, but not zero.", tolerance=0.01),
    ]


def _transfer():
    from arlm.distillation import losses

    code, paper = losses.DistillationFactors(), losses.DistillationFactors.paper()
    full = _full()
    return [
        choice(2, "What does attention transfer (AT) compare?",
               ("The teacher's and the student's attention distributions, head by head",
                "Right: a cross-entropy (KL plus the teacher's entropy) per query row."),
               ("The attention logits, by squared error", "No: that is an alternative (exercise 3.5)."),
               ("The outputs of each block", "No: that is feature-map transfer (FMT).")),
        numeric(4, "Which weight of the MEAN term does the official code use (the paper prints another)?",
                code.beta, f"the launch scripts pass {code.beta:g}; the paper's Table 2 says {paper.beta:g}."),
        choice(3, "In which order does progressive transfer train the student's blocks?",
               ("Bottom to top, one block per phase", "Right: block l learns in phase l."),
               ("All blocks at once", "No: that is the last stage, pretraining distillation."),
               ("Top to bottom", "No: each block needs its predecessor's trained output.")),
        choice(1, "Which student variables are copied from the teacher before the transfer?",
               ("The embeddings, the embedding transformation and the MLM and NSP heads",
                "Right: every variable outside the encoder whose name and shape match; they stay frozen."),
               ("Every encoder block's weights", "No: the blocks are what the transfer trains."),
               ("Nothing: the student starts from random weights", "No: the official init_from_teacher copies.")),
        numeric(5, "How many transfer steps does the `full` scale give a 24-block student?",
                24 * full.kt_steps_per_layer, f"the `full` scale: 24 blocks x {full.kt_steps_per_layer:,} steps "
                                              "per block."),
        choice(2, "Why do cross-entropy and KL attention losses train the same student?",
               ("They differ by the teacher's entropy, which does not depend on the student",
                "Right: same gradients, only the logged value differs."),
               ("They are equal", "No: cross-entropy bottoms out at the teacher's entropy, KL at 0."),
               ("They do not: KL has other gradients", "No: their gradients are the same.")),
    ]


def _distillation():
    from arlm.distillation import losses, stages

    full = _full()
    return [
        numeric(1, "Which ground-truth ratio alpha does the paper use in pretraining distillation?",
                losses.DistillationFactors().alpha, "alpha = 0.5: half true tokens, half the teacher."),
        choice(1, "Why is CE(alpha onehot + (1 - alpha) p_T, p_S) equal to alpha CE(onehot, p_S) + (1 - alpha) "
                  "CE(p_T, p_S)?",
               ("The cross-entropy is linear in its target", "Right: a mixture of targets, a mixture of losses."),
               ("Because alpha = 0.5", "No: it holds for any alpha."),
               ("It is an approximation for small alpha", "No: it is exact.")),
        choice(2, "Where does the official code apply the distillation temperature?",
               ("On the teacher's last hidden state, before its MLM head", "Right: not on the logits."),
               ("On the teacher's logits, divided by tau", "No: that is Hinton's placement, not this code's."),
               ("On the student's logits", "No: it changes the teacher's soft labels.")),
        numeric(3, "How many student updates does the `full` scale's recipe give a 24-block student (transfer "
                   "and distillation)?", stages.student_steps(full, 24),
                f"the `full` scale: 24 blocks x {full.kt_steps_per_layer:,} transfer steps plus "
                f"{full.distill_steps:,} distillation steps."),
        choice(4, "What makes the comparison of a distilled and a from-scratch student fair?",
               ("Both get the same number of updates", "Right: the scratch baseline gets the whole budget."),
               ("Both start from the teacher's weights", "No: the scratch student starts from random weights."),
               ("Both use alpha = 1", "No: alpha is a distillation setting.")),
    ]


def _finetuning():
    return [
        choice(1, "Why is a score chosen on the authors' AJGT dev split optimistic?",
               ("That dev split is the test split", "Right: choosing on it tunes to the test set."),
               ("The dev split is too small", "No: the problem is that it is the test set."),
               ("AJGT's labels are noisy", "No: noise does not bias the choice upwards.")),
        choice(2, "Which head answers ARCD's questions?",
               ("A span head: a start and an end position in the context", "Right: extractive QA, as SQuAD."),
               ("A sentence classifier over the answers", "No: the answer is a span of the context."),
               ("A token tagger with a CRF", "No: that is the PoS tagger of PADT.")),
        choice(3, "The official SQuAD v1.1 script compares «رياض،» with «الرياض». What does it count?",
               ("A miss: it strips only ASCII punctuation and English articles",
                "Right: the Arabic comma and «ال» stay (exercise 5.2)."),
               ("A match: it normalizes any language", "No: its normalization is English."),
               ("Half a match", "No: F1 works on tokens, and the only token differs.")),
        choice(3, "Why can the paper's PADT F1 be far below the token accuracy of the same tagger?",
               ("Its means run over every label of the list, including labels absent from the test set",
                "Right: those count 0 (exercise 5.1)."),
               ("Because F1 is always below accuracy", "No: not in general."),
               ("Because of the CRF", "No: it is how the mean is taken.")),
        choice(4, "Why does each score sit beside a majority-class and a TF-IDF baseline?",
               ("To see whether the model learnt more than the label balance and the words",
                "Right: a score is read against what needs no pretraining."),
               ("The paper reports them", "No: the paper does not."),
               ("To calibrate the model", "No: baselines are compared with, not used by, the model.")),
    ]


def _quantization():
    from arlm.quantization import sizes

    return [
        numeric(1, "How many bytes per parameter does a fine-tuned checkpoint with Adam's two moments take?",
                sizes.checkpoint_bytes(1), "the weight and two moment slots, each float32 (4 bytes)."),
        numeric(1, "And a float32 TFLite file, per parameter (weights only)?", sizes.FLOAT32_BYTES,
                "one float32 per weight, no optimizer state."),
        choice(2, "What does dynamic-range quantization store in int8?",
               ("The weights of large tensors; activations are quantized on the fly",
                "Right: small tensors and activations stay float32."),
               ("Weights and activations, fixed ranges", "No: that is full-integer int8, with calibration."),
               ("Nothing: it halves the float size", "No: that is float16.")),
        choice(2, "What does full-integer int8 quantization need that dynamic-range does not?",
               ("Representative inputs to calibrate the activations' ranges", "Right: exercise 6.3 starves it."),
               ("A GPU", "No: it is a file format."),
               ("Retraining", "No: it is post-training quantization.")),
        choice(3, "What does a file's agreement with Keras measure?",
               ("The share of test examples where it predicts what the Keras model predicts",
                "Right: it can show damage before the task metric does."),
               ("The share of weights that are equal", "No: quantized weights are never equal."),
               ("The task metric's difference", "No: that is reported beside it.")),
    ]


def _results():
    from arlm.quantization import sizes

    return [
        choice(2, "How does chapter 7 show a number that this run did not produce?",
               ("As 'not run'", "Right: never as a zero or as the paper's value."),
               ("As the paper's value", "No: that would pass the paper's number off as ours."),
               ("As 0", "No: a zero would be read as a result.")),
        numeric(3, "About how many MiB does a dynamic-range int8 file of ten million parameters weigh?",
                sizes.du_mib(10_000_000), "about one byte per parameter: 10e6 / 2^20, rounded up.",
                tolerance=0.1),
        choice(1, "Where does each number of chapter 7 come from?",
               ("The results.json of the chapter that produced it", "Right: with its scale and data."),
               ("The paper's tables", "No: those are the numbers it is compared with."),
               ("A cache of earlier runs", "No: it reads this run's folder.")),
        choice(3, "Dropping half of a student's blocks shrinks it by",
               ("Less than half: the embeddings and heads stay", "Right: exercise 7.4 counts it."),
               ("Exactly half", "No: not every parameter is in a block."),
               ("More than half", "No: blocks hold less than all of the model.")),
        choice(2, "A Table 3 cell of a `tiny` run lands within 5 points of the paper. What does that cell "
                  "alone show?",
               ("Nothing yet: a model without the method (the scratch student, TF-IDF) may be as close",
                "Right: the method counts only where a model without it is not as close (exercise 7.3)."),
               ("That the pipeline replicates the paper", "No: one cell cannot tell the method from the task."),
               ("That the paper's number is wrong", "No: one run says nothing about it.")),
    ]


def _full():
    from arlm.scales import resolve

    return resolve("full")


QUIZZES = {"01_corpus": _corpus, "02_teacher": _teacher, "03_knowledge_transfer": _transfer,
           "04_distillation": _distillation, "05_finetuning": _finetuning, "06_quantization": _quantization,
           "07_results": _results}


def questions(chapter):
    """The quiz of `chapter` as jupyterquiz's questions (each with its ``objective``)."""
    return QUIZZES[chapter]()


def display(chapter):
    """Show `chapter`'s quiz in the notebook (and so in the book's page). jupyterquiz's script runs once the page
    has loaded: run while the book's offline MathJax is still loading, it reads MathJax's version before there
    is one (a page error) and may fetch MathJax from a CDN."""
    from IPython.display import HTML, Javascript, Markdown
    from IPython.display import display as show
    from IPython.utils.capture import capture_output
    from jupyterquiz import display_quiz

    with capture_output() as captured:
        display_quiz([_as_html(q) for q in questions(chapter)], shuffle_answers=False)
    show(Markdown("**Check your understanding.** Pick an answer (or type a number) to see whether it is right."))
    for output in captured.outputs:
        if "application/javascript" in output.data:
            show(Javascript(AFTER_LOAD.replace("QUIZ", output.data["application/javascript"])))
        else:
            show(HTML(output.data["text/html"]))


def _as_html(question):
    """`question` as jupyterquiz shows it: its texts are HTML that a script writes into the page after the book's
    pass over the built pages (``book/_ext/arabic.py``), so their Arabic is isolated here."""
    def text(value):
        return bidi.isolate_text(value) if isinstance(value, str) else value

    shown = {k: text(v) for k, v in question.items() if k not in ("objective", "answer_value")}
    if "answers" in shown:
        shown["answers"] = [{k: text(v) if k in ("answer", "feedback") else v for k, v in a.items()}
                            for a in shown["answers"]]
    return shown


# a script run at the page's load event (at once where the page has loaded, as in a live notebook)
AFTER_LOAD = """(function () {
  function quiz() {
QUIZ
  }
  if (document.readyState === "complete") { quiz(); } else { window.addEventListener("load", quiz); }
})();"""
