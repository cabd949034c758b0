"""Stage 2: progressive layer-wise knowledge transfer from the teacher into the student (spec 3.3).

The student (MBERTA or MBERTA II) copies the teacher's embeddings, embedding transformation and MLM/NSP
heads, which stay frozen for the whole stage. Its encoder blocks are trained one after another: during phase
``l`` (steps ``S l < t <= S (l+1)``) only block ``l``'s losses count,

$$L_{KT}(t) = \\frac{1}{L}\\sum_{l} g_l(t)\\,\\big(\\lambda_h \\mathrm{FMT}_l + \\lambda_a \\mathrm{AT}_l
  + \\lambda_\\beta \\mathrm{MEAN}_l + \\lambda_\\gamma \\mathrm{VAR}_l\\big),$$

and the optimizer scales each block's learning rate by $3\\,bg(t)\\,c_l(t)$: 1 for the current block, 0.1 for
finished blocks, 0 (moments untouched) for future blocks (`arlm.distillation.schedules`).

>>> kt = ProgressiveKnowledgeTransfer(teacher, student, steps_per_layer=10)  # doctest: +SKIP
>>> kt.compile(optimizer=kt.make_optimizer(learning_rate=1.5e-3))  # doctest: +SKIP
>>> kt.fit(dataset, epochs=2, steps_per_epoch=10)  # doctest: +SKIP
"""

import keras
from keras import ops

from arlm import runtime
from arlm.distillation import losses, schedules
from arlm.distillation.teacher_student import TeacherStudent
from arlm.errors import ParameterError
from arlm.fitting import LastValue
from arlm.names import INPUT_NAMES


def backbone_inputs(x):
    """The backbone's inputs out of a pretraining batch (which also carries ``mask_positions``)."""
    return {key: x[key] for key in INPUT_NAMES}


def encoder_blocks(backbone):
    """The backbone's L encoder blocks, in order."""
    blocks = getattr(backbone, "transformer_layers", None)
    if blocks is None:
        raise ParameterError(f"{type(backbone).__name__} has no `transformer_layers`: not a MobileBertBackbone")
    return list(blocks)


def encoder_variable_layers(backbone):
    """``{variable.path: block index}`` for every variable of every encoder block."""
    return {v.path: index for index, block in enumerate(encoder_blocks(backbone)) for v in block.weights}


def own_variables(layer):
    """The variables a layer creates itself (not those of its sub-layers, nor a tied embedding's)."""
    return list(layer._trainable_variables) + list(layer._non_trainable_variables)


def _leaf_layers(layer, prefix, seen):
    """``(key, layer)`` for every sub-layer that owns variables, keyed by the chain of names below ``layer``."""
    for child in layer._layers:
        if id(child) in seen:
            continue
        seen.add(id(child))
        key = f"{prefix}{child.name}"
        if child._layers:
            yield from _leaf_layers(child, key + "/", seen)
        if own_variables(child):
            yield key, child


def non_encoder_layers(pretrainer):
    """``{key: layer}`` of the pretrainer's layers outside the encoder blocks (embeddings, norms, heads)."""
    # the backbone's own name differs between models ("mobile_bert_backbone_3"): key it as "backbone"
    seen = {id(block) for block in encoder_blocks(pretrainer.backbone)}
    seen |= {id(sub) for block in encoder_blocks(pretrainer.backbone) for sub in block._flatten_layers()}
    seen.add(id(pretrainer.backbone))
    layers = dict(_leaf_layers(pretrainer.backbone, "backbone/", seen))
    layers.update(_leaf_layers(pretrainer, "", seen))
    return layers


def init_student_from_teacher(student, teacher):
    """Copy every non-encoder variable whose layer name, layer type and shape match (spec 3.3).

    That is the word, position and segment embeddings, the embedding transformation and the MLM/NSP heads.
    The student's embedding NoNorm does not match the teacher's LayerNorm (another type), so it keeps
    gamma = 1, beta = 0; the teacher's pooler has no counterpart in a student without one. Returns the list of
    copied layer keys.
    """
    teacher_layers = non_encoder_layers(teacher)
    copied = []
    for key, layer in non_encoder_layers(student).items():
        source = teacher_layers.get(key)
        if source is None or type(source) is not type(layer):
            continue
        if [tuple(w.shape) for w in own_variables(source)] != [tuple(w.shape) for w in own_variables(layer)]:
            continue
        for target, value in zip(own_variables(layer), own_variables(source), strict=True):
            # a copy: assigning the variable itself would make both models share one buffer, which a jitted
            # JAX train step donates twice
            target.assign(ops.copy(value))
        copied.append(key)
    if not copied:
        raise ParameterError("init_student_from_teacher copied nothing: do the student and the teacher share "
                             "vocabulary, embedding and hidden sizes (spec 1.2)?")
    return copied



def drop_blocks(pretrainer, keep, x):
    """A smaller copy of a `MobileBertPretrainer` keeping only the encoder blocks ``keep`` (a layer drop).

    Args:
        pretrainer: the trained model; left unchanged.
        keep (list of int): indices of the blocks to keep, in the order they run.
        x: one input batch (with ``mask_positions``), to build the new model before weights are copied.

    Returns a new pretrainer with ``len(keep)`` blocks: every non-encoder weight (embeddings, heads) and each kept
    block's weights are copies of the original's.
    """
    from arlm.mobilebert import MobileBertBackbone, MobileBertPretrainer

    blocks = encoder_blocks(pretrainer.backbone)
    keep = [int(i) for i in keep]
    if not keep or any(not 0 <= i < len(blocks) for i in keep):
        raise ParameterError(f"drop_blocks: keep must list block indices in [0, {len(blocks)}), got {keep}")
    config = pretrainer.backbone.config.replace(num_layers=len(keep))
    with runtime.scope():
        smaller = MobileBertPretrainer(MobileBertBackbone.from_mobilebert_config(config))
        smaller(x)
    init_student_from_teacher(smaller, pretrainer)
    for block, index in zip(encoder_blocks(smaller.backbone), keep, strict=True):
        for target, value in zip(block.weights, blocks[index].weights, strict=True):
            target.assign(ops.copy(value))
    return smaller

def freeze_non_encoder(pretrainer):
    """Make everything but the encoder blocks non-trainable (multiplier 0 for the whole stage)."""
    for layer in non_encoder_layers(pretrainer).values():
        layer.trainable = False


def unfreeze(model):
    """Make every layer of ``model`` trainable again (stage 3 trains everything).

    Layer by layer: Keras' ``model.trainable = True`` does nothing to sub-layers when the model itself is already
    trainable, so it would leave the stage-2 freeze of the embeddings and heads in place.
    """
    for layer in model._flatten_layers(include_self=True):
        layer.trainable = True


@keras.saving.register_keras_serializable(package="arlm")
class ProgressiveKnowledgeTransfer(TeacherStudent):
    """Frozen teacher + student trained block by block with FMT, AT, MEAN and VAR losses (spec 3.3).

    Both models run without dropout (the official code builds them with ``is_training=False``). The model keeps
    its own step counter ``kt_step`` (train steps, i.e. micro-batches under gradient accumulation; saved with its
    weights, so a restored run continues the schedule) and
    logs the weighted terms ``fmt``, ``at``, ``mean``, ``var`` and the current ``layer`` at every step.

    Args:
        teacher: a `MobileBertPretrainer`; frozen here, never updated.
        student: a `MobileBertPretrainer` with the teacher's hidden size, heads and vocabulary.
        steps_per_layer: S, the length of one phase.
        factors: `losses.DistillationFactors` (default: the launch scripts' values, beta = 5000).
        init_from_teacher: copy the teacher's embeddings and heads into the student first.
    """

    def __init__(self, teacher, student, steps_per_layer, factors=None, init_from_teacher=True, **kwargs):
        if steps_per_layer < 1:
            raise ParameterError(f"steps_per_layer must be at least 1, got {steps_per_layer}")
        super().__init__(teacher, student, factors, **kwargs)
        self.steps_per_layer = int(steps_per_layer)
        self.num_layers = len(encoder_blocks(student.backbone))
        if len(encoder_blocks(teacher.backbone)) != self.num_layers:
            raise ParameterError(f"teacher has {len(encoder_blocks(teacher.backbone))} blocks, student "
                                 f"{self.num_layers}: layer-wise transfer needs the same number")
        if init_from_teacher:
            self.copied = init_student_from_teacher(student, teacher)
        freeze_non_encoder(student)
        self.kt_step = self.add_weight(shape=(), initializer="zeros", dtype="int32", trainable=False,
                                       name="kt_step", aggregation="only_first_replica")
        self.trackers = {name: LastValue(name=name) for name in ("fmt", "at", "mean", "var", "layer")}

    @property
    def total_steps(self):
        return schedules.total_steps(self.num_layers, self.steps_per_layer)

    def call(self, x, training=False):
        inputs = backbone_inputs(x)
        teacher = self.teacher.backbone(inputs, training=False)
        teacher = {key: keras.tree.map_structure(ops.stop_gradient, teacher[key])
                   for key in ("hidden_states", "attention_logits")}
        student = self.student.backbone(inputs, training=False)
        return {"teacher": teacher,
                "student": {key: student[key] for key in ("hidden_states", "attention_logits")}}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        # 1-based number of the optimizer update this step belongs to: with gradient accumulation, N steps
        # (micro-batches) make one update, and the loss gates must follow the optimizer's multipliers
        optimizer = getattr(self.optimizer, "inner_optimizer", self.optimizer)  # under a LossScaleOptimizer
        accumulation = getattr(optimizer, "gradient_accumulation_steps", None) or 1
        step = ops.convert_to_tensor(self.kt_step.value)  # 0-based train steps (micro-batches) done
        t = step // accumulation + 1
        gates = schedules.layer_gates(t, self.num_layers, self.steps_per_layer)
        total, terms = losses.knowledge_transfer_loss(y_pred["teacher"], y_pred["student"], gates, self.factors)
        for name in ("fmt", "at", "mean", "var"):
            self.trackers[name].update_state(terms[name])
        self.trackers["layer"].update_state(ops.minimum((t - 1) // self.steps_per_layer, self.num_layers - 1))
        if training:  # after every read of the counter: in a TF graph a later read would see the new value
            self.kt_step.assign(step + 1)
        return runtime.scale_loss(total)

    def variable_multiplier(self, variable, step):
        """The Lamb hook: $3\\,bg(t)\\,c_l(t)$ for block ``l``'s variables, 0 for every other variable."""
        # TF hands the optimizer the backing tf.Variable, named "<path>:0"
        path = getattr(variable, "path", None) or variable.name.split(":")[0]
        layer = self._variable_layers.get(path)
        if layer is None:
            return ops.zeros(())
        return schedules.layer_multiplier(step, layer, self.steps_per_layer)  # `step` is 1-based already

    @property
    def _variable_layers(self):
        if not hasattr(self, "_variable_layer_map"):
            self._variable_layer_map = encoder_variable_layers(self.student.backbone)
        return self._variable_layer_map

    def make_optimizer(self, learning_rate, **kwargs):
        """LAMB at a constant rate (no warmup, ``end_lr_rate = 1``) with the per-block multipliers (spec 3.3)."""
        from arlm.optimizers import Lamb

        kwargs.setdefault("global_clipnorm", 1.0)
        return Lamb(learning_rate=learning_rate, variable_multiplier=self.variable_multiplier, **kwargs)

    def get_config(self):
        # the student's weights are saved with the model: no copy from the teacher on load
        return {**super().get_config(), "steps_per_layer": self.steps_per_layer, "init_from_teacher": False}


def attention_probabilities(backbone, x, layer):
    """Softmax over keys of block ``layer``'s masked attention logits: ``[batch, heads, T, T]`` (for plots)."""
    outputs = backbone(backbone_inputs(x), training=False)
    return ops.convert_to_numpy(ops.softmax(outputs["attention_logits"][layer], axis=-1))


def weighted_terms(history, num_layers, terms=("fmt", "at", "mean", "var")):
    """The logged history as each step's weighted terms of the block in training, $\\lambda_x X_l$.

    The model logs each term as it enters $L_{KT}$, averaged over the L blocks (the other gates are 0); times L
    that is the block's own weighted term, the scale chapter 3 shows everywhere. ``step`` and ``layer`` are kept;
    Keras' ``loss`` (a running mean over the phase) is dropped.
    """
    return [{"step": row["step"], "layer": int(row["layer"]), **{t: num_layers * row[t] for t in terms}}
            for row in history]


def attention_cross_entropies(teacher_backbone, student_backbone, x):
    """Per block, the attention-transfer cross-entropy from the teacher's maps to the student's on ``x``, and
    the teacher's own entropy (the floor, where KL = 0): ``([student], [floor])``."""
    inputs = backbone_inputs(x)
    teacher = teacher_backbone(inputs, training=False)["attention_logits"]
    student = student_backbone(inputs, training=False)["attention_logits"]
    return ([float(losses.attention_transfer_loss(t, s)) for t, s in zip(teacher, student, strict=True)],
            [float(losses.attention_transfer_loss(t, t)) for t in teacher])


def attention_transfer_finding(before, after, floor, uniform, at_share, steps_per_layer, weights):
    """A sentence on whether attention transfer moved the student's attention towards the teacher's, and why not.

    Args:
        before, after (list[float]): per block, the student's attention cross-entropy to the teacher's maps
            before and after the stage (`attention_cross_entropies`, the same input).
        floor (list[float]): per block, the teacher's entropy: the cross-entropy of a perfect student.
        uniform (float): the cross-entropy of uniform attention over the input's tokens.
        at_share (float): AT's share of the weighted stage-2 loss over the run (`weighted_terms`).
        steps_per_layer (int): S, the steps each block trained for.
        weights (dict): the terms' weights (`losses.DistillationFactors.term_weights`).
    """
    from arlm.scales import SCALES

    gaps = [(b - a) / (b - f) if b - f > 1e-6 else 0.0 for b, a, f in zip(before, after, floor, strict=True)]
    closed = sum(gaps) / len(gaps)
    said = (f"Over the {len(before)} blocks, the student's attention cross-entropy went from "
            f"{sum(before) / len(before):.3f} before transfer to {sum(after) / len(after):.3f} after it (mean over "
            f"blocks; the teacher's own entropy, a perfect student's value, is {sum(floor) / len(floor):.3f}, "
            f"uniform attention {uniform:.3f}): {f'{closed:.0%}' if closed > 0.005 else 'none'} of the way to the "
            "teacher's maps.")
    if sum(floor) / len(floor) > 0.95 * uniform:
        return said + (" The teacher's attention is itself close to uniform, so there was little to transfer: "
                       "its pretraining has not yet taught it where to look.")
    if closed < 0.1:
        return said + (f" Attention transfer did not move the student at this scale. Likely reasons: AT is "
                       f"{at_share:.0%} of the weighted loss (its weight, {weights['at']:g}, against FMT's "
                       f"{weights['fmt']:g}), so the gradient mostly follows the feature maps, and each block "
                       f"trained for {steps_per_layer:,} steps (the authors' script: "
                       f"{SCALES['full']['kt_steps_per_layer']:,}).")
    if closed < 0.5:
        return said + f" Attention transfer moved the student part of the way in {steps_per_layer:,} steps per block."
    return said + " Attention transfer brought the student most of the way to its teacher's maps."


def attention_loss_finding(initial, variants, floor, uniform):
    """A sentence comparing students transferred with two attention losses (chapter 3's last exercise).

    Args:
        initial (float): the last block's attention cross-entropy of the student before any transfer.
        variants (dict): ``{label: that cross-entropy after the transfer with that loss}``.
        floor (float): the teacher's entropy on the same input (a perfect student's cross-entropy).
        uniform (float): the cross-entropy of uniform attention.
    """
    moved = {label: initial - value for label, value in variants.items()}
    said = (f"Before transfer the last block's attention cross-entropy is {initial:.4f}; after it, "
            + ", ".join(f"{value:.4f} with {label}" for label, value in variants.items())
            + f" (the teacher's entropy: {floor:.4f}, uniform attention: {uniform:.4f}).")
    if max(abs(m) for m in moved.values()) < 1e-3 * max(initial, 1e-6):
        if floor > 0.95 * uniform:
            return said + (" Neither loss moved the student: the teacher's attention is close to uniform, so there "
                           "is nothing to pull towards, and the comparison says nothing about the losses.")
        return said + (" Neither loss moved the student in these steps: the comparison says nothing about the "
                       "losses, only that this many steps are too few.")
    best = max(moved, key=moved.get)
    gap = abs(moved[best] - min(moved.values()))
    return said + (f" {best} moved it furthest towards the teacher's maps, by {gap:.4f} more than the other "
                   "(one run each, one batch: a difference, not yet a conclusion).")


def phase_finding(history, terms=("fmt", "at")):
    """A sentence on how each transferred term moved within its block's phase, from the transfer history.

    Args:
        history (list[dict]): one record per step with ``layer`` and the terms (`run_knowledge_transfer`).
        terms (tuple[str]): the terms to describe.
    """
    changes = {term: [] for term in terms}
    for layer in sorted({row["layer"] for row in history}):
        phase = [row for row in history if row["layer"] == layer]
        for term in terms:
            first, last = phase[0][term], phase[-1][term]
            changes[term].append((last - first) / first if first else 0.0)
    said = []
    for term, change in changes.items():
        mean = sum(change) / len(change)
        how = "stayed within 5%" if abs(mean) < 0.05 else f"{'fell' if mean < 0 else 'rose'} by {abs(mean):.0%}"
        said.append(f"`{term}` {how}")
    return "From the first to the last step of a block's phase (mean over blocks), " + ", ".join(said) + "."


def attention_finding(probabilities):
    """A sentence on how far an attention map (`attention_probabilities`, one example) is from uniform.

    Args:
        probabilities (numpy.ndarray): ``[1, heads, T, T]`` attention probabilities.
    """
    import numpy as np

    p = np.asarray(probabilities, "float64")[0]
    entropy = float(-(p * np.log(np.clip(p, 1e-12, None))).sum(-1).mean())
    uniform = float(np.log(p.shape[-1]))
    if entropy > 0.95 * uniform:
        return (f"The teacher's attention is almost uniform (entropy {entropy:.2f} of at most {uniform:.2f} "
                f"nats): at this scale it has not learned where to look, so attention transfer has little to "
                "pass on and the maps below differ by noise.")
    return (f"The teacher's attention is focused (entropy {entropy:.2f} nats, uniform would be {uniform:.2f}): "
            "compare where each row of the two maps puts its weight.")
