"""The live box of `arlm.book.demo` in headless Chromium, the built page opened from disk with every request outside
it blocked: five Arabic texts get the label and probabilities `arlm predict` gives on the same file, the page's
tokenizer gives arlm's ids on the tricky texts, empty and over-long input are said so, and the demo's files stay
within their size budget."""

import json
import re

import numpy as np
import pytest
from test_site import browser  # noqa: F401 (the fixture)
from tricky_texts import TRICKY

from arlm.book import demo
from arlm.book.edition import EDITION
from arlm.predict import Predictor, softmax
from arlm.preprocessing import encode_texts

pytestmark = [pytest.mark.chapters, pytest.mark.browser]

TEXTS = [
    "الخدمة ممتازة والموظفين محترمين",
    "والله ما في أسوأ من هيك خدمة، زفت",
    "الفيلم رائع جداً 😍 أنصح الكل يشوفه",
    "ما عجبني المطعم... الأكل بارد والأسعار غالية",
    "I love this! بس التوصيل تأخر 3 أيام",  # pasted mixed-direction text
]
RESULT = ".arlm-demo-result"


@pytest.fixture(scope="module")
def opened(browser, any_book):  # noqa: F811
    """(page, demo folder, whose, problems): the book's front page from disk, network blocked."""
    runs, site = any_book
    folder, whose = demo.find_demo(runs, EDITION)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda msg: msg.type == "error" and problems.append(f"console: {msg.text}"))

    def route(request_route):
        if request_route.request.url.startswith(("file:", "data:", "blob:")):
            request_route.continue_()
        else:
            problems.append(f"external request: {request_route.request.url}")
            request_route.abort()

    page.route("**/*", route)
    page.goto((site / "intro.html").as_uri(), wait_until="load")
    yield page, folder, whose, problems
    page.close()


def _type(page, text):
    page.fill(".arlm-demo-text", text)
    page.wait_for_function(f"t => document.querySelector('{RESULT}').dataset.text === t", arg=text, timeout=90000)
    return page.eval_on_selector(RESULT, "e => ({...e.dataset, text: e.innerText})")


def test_five_texts_get_the_labels_and_probabilities_of_arlm_predict(opened):
    pytest.importorskip("onnxruntime", reason="arlm predict runs an .onnx file with the onnx extra")
    page, folder, whose, problems = opened
    assert page.get_attribute(".arlm-demo-text", "dir") == "auto"
    predictor = Predictor(folder / demo.MODEL_FILE, num_threads=1)
    for text in TEXTS:
        shown = _type(page, text)
        features = encode_texts([text], predictor.tokenizer, predictor.max_seq_length)
        expected = softmax(predictor.model.run_batch(features)["logits"][0])
        assert shown["label"] == predictor.predict(text)["label"], text
        np.testing.assert_allclose(np.asarray(json.loads(shown["probabilities"])), expected, atol=1e-3)
        ids = features["token_ids"][0]
        assert json.loads(shown["ids"]) == ids[ids != 0].tolist(), text
        assert "The int8 model took" in shown["text"] and " ms " in shown["text"]
    assert re.sub("<[^>]+>", "", demo.WHOSE[whose]) in page.inner_text(".arlm-demo")  # whose model it is
    assert not problems, problems


def test_the_page_tokenizes_the_tricky_texts_as_arlm_does(opened):
    from arlm.tokenizer import WordPieceTokenizer

    page, folder, _, problems = opened
    page.focus(".arlm-demo-text")  # the box loads its files on first focus
    page.wait_for_function("() => window.ARLM_DEMO && window.ARLM_DEMO.model", timeout=90000)
    ids = page.evaluate("""texts => {
        const model = window.ARLM_DEMO.model;
        const tokenizer = new window.ARLM_DEMO.Tokenizer(model.tokenizer, model.max_bytes_per_word);
        return texts.map((text) => tokenizer.encode(text));
    }""", TRICKY)
    ours = WordPieceTokenizer(folder / "model.vocab.txt")
    assert len(TRICKY) >= 30
    for text, got in zip(TRICKY, ids, strict=True):
        assert got == ours.encode(text), repr(text)
    assert not problems, problems


def test_empty_and_overlong_input_are_said_so(opened):
    page, folder, _, problems = opened
    long_text = " ".join(TEXTS * 10)
    shown = _type(page, long_text)
    length = demo.read_demo(folder)["max_seq_length"]
    assert shown.get("truncated") == "true" and f"the model reads {length}" in shown["text"]
    page.fill(".arlm-demo-text", "   ")
    page.wait_for_function(f"() => document.querySelector('{RESULT}').dataset.state === 'empty'", timeout=10000)
    assert "Type or paste Arabic text" in page.inner_text(RESULT)
    assert not problems, problems


def test_the_demo_files_of_the_site_fit_the_budget(any_book):
    files = sorted((any_book[1] / "_static" / demo.SITE_FOLDER).iterdir())
    sizes = {f.name: f.stat().st_size for f in files}
    assert sum(sizes.values()) <= demo.MAX_SITE_BYTES, sizes
    assert "ort.wasm.min.js" in sizes and "model.js" in sizes
