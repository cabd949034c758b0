"""Where a ``.tflite`` file spends its time, op by op, and which ops XNNPACK leaves to TFLite's own kernels.

The Python interpreter has no op profiler, so `op_profile` times a split graph: the file's ops are grouped by
what they compute (op, input and output types and shapes, options: the 24 identical blocks of MBERTA give 24
ops per group), and each group becomes a small ``.tflite`` model of its own that runs all of the group's real
ops side by side, with their real weights, on the activations that the whole file computed for one input. Each
group model is timed with the default XNNPACK delegate and with the built-in kernels alone; a group whose
model the delegate does not take is an op that leaves XNNPACK in the whole file too (the delegate decides op
by op, from types, shapes and options). The group times add up to about the file's latency; the difference is
what a single graph saves (one delegate call, tensors that stay in cache) or adds (the hand-over between
XNNPACK and a built-in kernel). A group model holds only its own weights, which can stay in the CPU's cache from
one timed run to the next: where the whole file is bound by memory bandwidth (int8 weights of a large model,
or a machine whose cache other processes share), the group times undercount it.

>>> rows = op_profile("mberta_ajgt.int8.tflite", num_threads=1)
>>> [(r["op"], r["count"], r["xnnpack"], round(r["share"], 2)) for r in rows[:2]]
[('FULLY_CONNECTED', 168, True, 0.41), ('BATCH_MATMUL', 48, False, 0.22)]

Needs only ``ai-edge-litert`` (no TensorFlow).
"""

import collections
import copy
import statistics
import time
from pathlib import Path

import numpy as np

from arlm.errors import ArtifactError
from arlm.names import INPUT_NAMES


def _tools():
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    return schema, flatbuffer_utils


def _interpreter(content, num_threads, xnnpack=True, preserve=False):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.AUTO if xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    return Interpreter(model_content=bytes(content), num_threads=num_threads, experimental_op_resolver_type=resolver,
                       experimental_preserve_all_tensors=preserve)


def _activations(content, features, num_threads):
    """Every tensor of the main subgraph after one run on `features` (built-in kernels, all tensors kept)."""
    interpreter = _interpreter(content, num_threads, xnnpack=False, preserve=True)
    runner = interpreter.get_signature_runner()
    details = runner.get_input_details()
    size = tuple(int(n) for n in details["token_ids"]["shape"])
    runner(**{name: np.asarray(features[name], np.int32)[: size[0], : size[1]] for name in INPUT_NAMES})
    values = {}
    for detail in interpreter.get_tensor_details():
        try:
            values[detail["index"]] = np.array(interpreter.get_tensor(detail["index"]))
        except ValueError:  # a tensor that holds no data (an optional input)
            continue
    return values


def _describe(model, subgraph, index):
    """``int8[128x512] per-channel`` for a tensor; ``const`` when it holds weights."""
    _, flatbuffer_utils = _tools()
    tensor = subgraph.tensors[index]
    text = f"{flatbuffer_utils.type_to_name(tensor.type).lower()}[{'x'.join(str(int(n)) for n in tensor.shape)}]"
    quantization = tensor.quantization
    if quantization is not None and quantization.scale is not None and len(quantization.scale) > 1:
        text += " per-channel"
    buffer = model.buffers[tensor.buffer]
    if buffer.data is not None and len(buffer.data):
        text += " const"
    return text


def _options(op):
    options = op.builtinOptions
    return tuple(sorted(vars(options).items())) if options is not None else ()


def _is_constant(model, subgraph, index):
    data = model.buffers[subgraph.tensors[index].buffer].data
    return data is not None and len(data) > 0


def _at_load(model, subgraph, op):
    """An op on constants only (the DEQUANTIZE of float16 weights): run once when the interpreter is built."""
    return all(i < 0 or _is_constant(model, subgraph, i) for i in op.inputs)


def _group_model(model, ops, schema, weights):
    """A model of `ops` side by side: each op reads fresh copies of its inputs (graph inputs), keeps its weights.

    `weights` maps a tensor computed at load time to the op computing it, which then comes along (so that a
    float16 weight stays a weight that XNNPACK folds, not an input it would refuse).
    """
    subgraph = model.subgraphs[0]
    tensors = list(subgraph.tensors)
    new_ops, inputs, outputs, keep = [], [], [], {0}
    for op in ops:
        op = copy.copy(op)
        wired = []
        for index in op.inputs:
            if index in weights:
                keep.update(tensors[i].buffer for i in weights[index].inputs if i >= 0)
                new_ops.append(weights[index])
                wired.append(index)
                continue
            if index < 0 or _is_constant(model, subgraph, index):
                if index >= 0:
                    keep.add(tensors[index].buffer)
                wired.append(index)
                continue
            fresh = copy.copy(tensors[index])
            fresh.buffer = 0
            tensors.append(fresh)
            inputs.append((len(tensors) - 1, index))
            wired.append(len(tensors) - 1)
        op.inputs = wired
        outputs.extend(i for i in op.outputs if i >= 0)
        new_ops.append(op)
    single = schema.SubGraphT()
    single.tensors, single.operators = tensors, new_ops
    single.inputs, single.outputs = [i for i, _ in inputs], outputs
    single.name = "profile"
    group = copy.copy(model)
    group.subgraphs, group.signatureDefs = [single], None
    keep.update(m.buffer for m in (model.metadata or []))
    empty = schema.BufferT()
    group.buffers = [buffer if i in keep else empty for i, buffer in enumerate(model.buffers)]
    return group, inputs


def _time(content, feeds, num_threads, xnnpack, runs, warmup):
    interpreter = _interpreter(content, num_threads, xnnpack=xnnpack)
    interpreter.allocate_tensors()
    positions = {detail["index"]: detail for detail in interpreter.get_input_details()}
    for (index, source), value in feeds:
        if index not in positions:
            raise ArtifactError(f"profile: input tensor {index} (a copy of {source}) is not an input of its model")
        interpreter.set_tensor(index, value)
    for _ in range(warmup):
        interpreter.invoke()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        interpreter.invoke()
        times.append(time.perf_counter() - start)
    delegated = any(op["op_name"] == "DELEGATE" for op in interpreter._get_ops_details())
    return 1000 * statistics.median(times), delegated


def op_profile(path, num_threads=1, runs=20, warmup=2, features=None):
    """Rows ``{op, inputs, outputs, count, xnnpack, ms, ms_builtin, share, at_load}``, the slowest group first.

    `ms` is the time of all `count` ops of the group per inference with the default XNNPACK delegate,
    `ms_builtin` with TFLite's built-in kernels alone; `share` is `ms` over the sum of `ms`; `xnnpack` says
    whether the delegate takes these ops; `at_load` marks ops on constants only (the dequantization of float16
    weights), which run once when the interpreter is built and cost nothing per inference. `features`
    (``{input name: int32 array}``) is the input whose activations the ops run on (default: random ids).

    Args:
        path (str | Path): a ``.tflite`` file written by `arlm.quantization.export`.
        num_threads (int): interpreter threads.
        runs (int): timed invocations of each group model (the median is kept).
        warmup (int): untimed invocations before them.
        features (dict | None): the input the activations come from.
    """
    from arlm.quantization.interpreter import TFLiteModel
    from arlm.quantization.latency import example_batch

    path = Path(path)
    loaded = TFLiteModel(path, num_threads=num_threads)  # checks the file and its signature
    if features is None:
        features = example_batch(loaded.batch_size, loaded.max_seq_length)
    del loaded
    schema, flatbuffer_utils = _tools()
    content = path.read_bytes()
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    subgraph = model.subgraphs[0]
    values = _activations(content, features, num_threads)
    groups = collections.defaultdict(list)
    for op in subgraph.operators:
        name = flatbuffer_utils.opcode_to_name(model, op.opcodeIndex)
        key = (name,
               ", ".join(_describe(model, subgraph, i) for i in op.inputs if i >= 0),
               ", ".join(_describe(model, subgraph, i) for i in op.outputs if i >= 0),
               _options(op))
        groups[key].append(op)
    weights = {int(out): op for op in subgraph.operators if _at_load(model, subgraph, op) for out in op.outputs}
    rows = []
    for (name, inputs, outputs, _), ops in groups.items():
        if _at_load(model, subgraph, ops[0]):
            # e.g. the DEQUANTIZE of float16 weights: computed once when the interpreter is built, 0 ms per run
            rows.append({"op": name, "inputs": inputs, "outputs": outputs, "count": len(ops), "xnnpack": True,
                         "ms": 0.0, "ms_builtin": 0.0, "at_load": True})
            continue
        group, feeds = _group_model(model, ops, schema, weights)
        content = flatbuffer_utils.convert_object_to_bytearray(group)
        feeds = [((index, source), values[source]) for index, source in feeds]
        ms, delegated = _time(content, feeds, num_threads, True, runs, warmup)
        ms_builtin, _ = _time(content, feeds, num_threads, False, runs, warmup)
        rows.append({"op": name, "inputs": inputs, "outputs": outputs, "count": len(ops), "xnnpack": delegated,
                     "ms": ms, "ms_builtin": ms_builtin, "at_load": False})
    total = sum(row["ms"] for row in rows) or 1.0
    for row in rows:
        row["share"] = row["ms"] / total
    return sorted(rows, key=lambda row: -row["ms"])


def by_op(rows):
    """`op_profile` rows summed per op name: ``{op, count, ms, share, off_xnnpack}`` (``off_xnnpack``: how many of
    the ops run on built-in kernels), the slowest op first."""
    summary = {}
    for row in rows:
        entry = summary.setdefault(row["op"], {"op": row["op"], "count": 0, "ms": 0.0, "share": 0.0,
                                               "off_xnnpack": 0})
        entry["count"] += row["count"]
        entry["ms"] += row["ms"]
        entry["share"] += row["share"]
        entry["off_xnnpack"] += 0 if row["xnnpack"] else row["count"]
    return sorted(summary.values(), key=lambda entry: -entry["ms"])


def _off_xnnpack(profiles, precision):
    """`by_op` entries of `precision` with more instances off XNNPACK than in the float32 file."""
    float32_off = {entry["op"]: entry["off_xnnpack"] for entry in profiles.get("float32", [])}
    return [e for e in profiles[precision] if e["off_xnnpack"] > float32_off.get(e["op"], 0)]


def profile_finding(profiles, latency_ms, label):
    """Sentences (Markdown) on what the profile says about each quantized file against the float32 one.

    Args:
        profiles (dict): ``{precision: by_op(op_profile(file))}``, ``float32`` among them.
        latency_ms (dict): ``{precision: whole-file latency in ms}`` at the profile's thread count.
        label (str): what was measured, e.g. ``"mberta_ajgt, sequence 64, 1 thread"``.
    """
    common = ", ".join(f"`{e['op']}`" for e in profiles["float32"] if e["off_xnnpack"])
    lines = [f"{label}. Ops off XNNPACK in every file, float32 included: {common or 'none'}."]
    for precision in (p for p in profiles if p != "float32" and p in latency_ms):
        ratio = latency_ms["float32"] / latency_ms[precision]
        verdict = "slower" if ratio < 0.95 else "faster" if ratio > 1.05 else "about as fast"
        speed = f"{ratio:.2f}x the float32 speed ({verdict})"
        off = _off_xnnpack(profiles, precision)
        if off:
            names = ", ".join(f"`{e['op']}` ({e['off_xnnpack']} of {e['count']})" for e in off)
            share = sum(e["share"] for e in off)
            where = (f"ops that leave XNNPACK in this file alone: {names}, {share:.0%} of its op time, each also "
                     "a hand-over between XNNPACK and a built-in kernel")
        else:
            where = "every op that XNNPACK runs in the float32 file, it runs here too"
        lines.append(f"- **{precision}** runs at {speed}; {where}.")
    return "\n".join(lines)
