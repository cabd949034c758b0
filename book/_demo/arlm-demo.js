/* The book's live box (arlm.demo): the int8 student classifies what the reader types, in this browser.
 *
 * Tokenization reads the tokenizer.json that arlm.hf_tokenizer writes (the book's normalization as a Sequence of
 * normalizers, the BERT pre-tokenizer, WordPiece) and applies arlm's rule that a word over 100 UTF-8 bytes is
 * [UNK]; the ids equal arlm's (tests/chapters/test_demo_page.py). The model runs with ONNX Runtime Web on one
 * thread. Every file comes as a classic script (a page opened from disk may not fetch), loaded on first use.
 */
(function () {
  "use strict";

  // ---- tokenizer.json, the subset arlm writes ---------------------------------------------------------------
  function steps(entry, key) {
    if (!entry) return [];
    return entry.type === "Sequence" ? entry[key].flatMap((e) => steps(e, key)) : [entry];
  }

  function regex(pattern) {
    if (!("Regex" in pattern)) throw new Error(`tokenizer.json: expected a Regex pattern, got ${JSON.stringify(pattern)}`);
    return new RegExp(pattern.Regex, "gu");
  }

  class Tokenizer {
    constructor(json, maxBytesPerWord) {
      const model = json.model;
      if (model.type !== "WordPiece") throw new Error(`tokenizer.json: unsupported model ${model.type}`);
      this.vocab = new Map(Object.entries(model.vocab));
      this.unk = this.vocab.get(model.unk_token);
      this.prefix = model.continuing_subword_prefix;
      this.maxBytes = maxBytesPerWord;
      this.encoder = new TextEncoder();
      this.normalizers = steps(json.normalizer, "normalizers").map((n) => this.normalizer(n));
      this.splitters = steps(json.pre_tokenizer, "pretokenizers").map((p) => this.splitter(p));
      const special = json.post_processor.special_tokens;  // [CLS] A [SEP], as TemplateProcessing says
      [this.cls, this.sep] = [special["[CLS]"].ids[0], special["[SEP]"].ids[0]];
    }

    normalizer(n) {
      switch (n.type) {
        case "Lowercase": return (t) => t.toLowerCase();
        case "NFC": case "NFD": case "NFKC": case "NFKD": return (t) => t.normalize(n.type);
        case "Replace": {
          if ("String" in n.pattern) return (t) => t.replaceAll(n.pattern.String, n.content);
          const re = regex(n.pattern);
          return (t) => t.replace(re, n.content);
        }
        case "Strip": return (t) => {
          const left = n.strip_left ? t.replace(/^\s+/u, "") : t;
          return n.strip_right ? left.replace(/\s+$/u, "") : left;
        };
        default: throw new Error(`tokenizer.json: unsupported normalizer ${n.type}`);
      }
    }

    splitter(p) {
      switch (p.type) {
        case "WhitespaceSplit": return (word) => word.split(/\s+/u).filter((w) => w);
        case "Split": {
          if (p.behavior !== "Isolated" || p.invert) throw new Error("tokenizer.json: unsupported Split");
          const re = regex(p.pattern);
          return (word) => {  // each match is a word of its own, and so is each stretch between matches
            const out = [];
            let last = 0;
            for (const m of word.matchAll(re)) {
              if (m.index > last) out.push(word.slice(last, m.index));
              if (m[0]) out.push(m[0]);
              last = m.index + m[0].length;
            }
            if (last < word.length) out.push(word.slice(last));
            return out;
          };
        }
        default: throw new Error(`tokenizer.json: unsupported pre-tokenizer ${p.type}`);
      }
    }

    normalize(text) {
      return this.normalizers.reduce((t, f) => f(t), text);
    }

    words(text) {
      return this.splitters.reduce((words, split) => words.flatMap(split), [this.normalize(text)]);
    }

    wordpiece(word) {  // greedy longest match first, over code points (as Python slices strings)
      if (this.encoder.encode(word).length > this.maxBytes) return [this.unk];
      const chars = Array.from(word);
      const ids = [];
      for (let start = 0; start < chars.length;) {
        let end = chars.length, found;
        for (; end > start; end--) {
          const piece = (start ? this.prefix : "") + chars.slice(start, end).join("");
          found = this.vocab.get(piece);
          if (found !== undefined) break;
        }
        if (found === undefined) return [this.unk];
        ids.push(found);
        start = end;
      }
      return ids;
    }

    encode(text) {
      return this.words(text).flatMap((w) => this.wordpiece(w));
    }
  }

  // ---- loading ----------------------------------------------------------------------------------------------
  const data = () => window.ARLM_DEMO;
  let loading = null;

  function script(src) {
    return new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src;
      s.onload = resolve;
      s.onerror = () => reject(new Error(`could not load ${src}`));
      document.head.appendChild(s);
    });
  }

  function bytes(b64) {
    const text = atob(b64);
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  }

  async function gunzip(b64) {
    const stream = new Blob([bytes(b64)]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  function load(base) {
    if (loading) return loading;
    loading = (async () => {
      const start = performance.now();
      await Promise.all(["ort.wasm.min.js", "runtime.js", "model.js"].map((f) => script(base + f)));
      const { runtime, model } = data();
      const ort = window.ort;
      ort.env.wasm.numThreads = 1;  // threads need a cross-origin isolated page; one is enough for one text
      ort.env.wasm.proxy = false;
      ort.env.wasm.wasmBinary = await gunzip(runtime.wasm_gzip);
      ort.env.wasm.wasmPaths = {
        mjs: URL.createObjectURL(new Blob([runtime.glue], { type: "text/javascript" })),
      };
      const session = await ort.InferenceSession.create(await gunzip(model.onnx_gzip),
                                                        { executionProviders: ["wasm"] });
      const demo = { ort, session, tokenizer: new Tokenizer(model.tokenizer, model.max_bytes_per_word), model };
      await classify(demo, "");  // the first run prepares the kernels: the times shown are of later runs
      demo.loadMs = performance.now() - start;
      return demo;
    })();
    return loading;
  }

  // ---- one prediction ---------------------------------------------------------------------------------------
  async function classify(demo, text) {
    const { ort, session, tokenizer, model } = demo;
    const length = model.max_seq_length;
    const t0 = performance.now();
    const pieces = tokenizer.encode(text);
    const kept = pieces.slice(0, length - 2);
    const ids = new Int32Array(length);
    [tokenizer.cls, ...kept, tokenizer.sep].forEach((id, i) => { ids[i] = id; });  // then [PAD], id 0
    const mask = ids.map((id) => (id !== 0 ? 1 : 0));
    const shape = [1, length];
    const feeds = {
      token_ids: new ort.Tensor("int32", ids, shape),
      segment_ids: new ort.Tensor("int32", new Int32Array(length), shape),
      padding_mask: new ort.Tensor("int32", mask, shape),
    };
    const t1 = performance.now();
    const out = await session.run(feeds);
    const t2 = performance.now();
    const logits = Array.from(out.logits.data);
    const top = Math.max(...logits);
    const exp = logits.map((z) => Math.exp(z - top));
    const sum = exp.reduce((a, b) => a + b, 0);
    const probabilities = exp.map((e) => e / sum);
    const best = probabilities.indexOf(Math.max(...probabilities));
    return { label: model.labels[best], probabilities, pieces: pieces.length, kept: kept.length,
             tokenizeMs: t1 - t0, modelMs: t2 - t1, ids: Array.from(ids.slice(0, kept.length + 2)) };
  }

  // ---- the box ----------------------------------------------------------------------------------------------
  function element(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function show(box, result, text, demo) {
    const out = box.querySelector(".arlm-demo-result");
    out.replaceChildren();
    out.dataset.text = text;
    out.dataset.label = result.label;
    out.dataset.probabilities = JSON.stringify(result.probabilities);
    out.dataset.ids = JSON.stringify(result.ids);
    out.appendChild(element("p", "arlm-demo-label", `Label: ${result.label}`));
    const table = element("table", "arlm-demo-probabilities");
    demo.model.labels.forEach((label, i) => {
      const row = table.insertRow();
      row.insertCell().textContent = label;
      const bar = element("span", "arlm-demo-bar");
      bar.style.width = `${(100 * result.probabilities[i]).toFixed(1)}%`;
      row.insertCell().appendChild(bar);
      row.insertCell().textContent = result.probabilities[i].toFixed(4);
    });
    out.appendChild(table);
    const timing = `The int8 model took ${result.modelMs.toFixed(1)} ms in this browser (tokenizing ` +
                   `${result.tokenizeMs.toFixed(1)} ms; loading the runtime and model took ` +
                   `${(demo.loadMs / 1000).toFixed(1)} s, once).`;
    out.appendChild(element("p", "arlm-demo-time", timing));
    if (result.pieces > result.kept) {
      out.appendChild(element("p", "arlm-demo-truncated",
        `Your text is ${result.pieces} WordPiece pieces; the model reads ${demo.model.max_seq_length} ` +
        `([CLS], the first ${result.kept} pieces, [SEP]), so the rest was cut.`));
      out.dataset.truncated = "true";
    } else if (result.pieces === 0) {
      out.appendChild(element("p", "arlm-demo-truncated",
        "Nothing is left of this text after the book's normalization: the model saw only [CLS] [SEP]."));
    }
  }

  function message(box, text, kind) {
    const out = box.querySelector(".arlm-demo-result");
    out.replaceChildren(element("p", kind ? `arlm-demo-${kind}` : "", text));
    out.dataset.state = kind || "";
    delete out.dataset.label;
  }

  function attach(box) {
    const area = box.querySelector(".arlm-demo-text");
    let pending = 0;
    const run = async () => {
      const text = area.value;
      const mine = ++pending;
      if (!text.trim()) {
        message(box, "Type or paste Arabic text above.", "empty");
        return;
      }
      if (!loading) message(box, "Loading ONNX Runtime Web and the model (once)…", "loading");
      try {
        const demo = await load(box.dataset.base);
        const result = await classify(demo, text);
        if (mine === pending) show(box, result, text, demo);
      } catch (error) {
        message(box, `The model could not run in this browser: ${error.message || error}`, "error");
        console.error(error);
      }
    };
    let timer;
    area.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(run, 200); });
    area.addEventListener("focus", () => { load(box.dataset.base).catch(() => {}); }, { once: true });
  }

  window.ARLM_DEMO = window.ARLM_DEMO || {};
  window.ARLM_DEMO.Tokenizer = Tokenizer;
  window.ARLM_DEMO.load = load;
  document.querySelectorAll(".arlm-demo:not([data-attached])").forEach((box) => {
    box.dataset.attached = "true";
    attach(box);
  });
})();
