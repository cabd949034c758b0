"""Stage 3: pretraining distillation, the student learning masked LM and NSP with the teacher's soft labels (spec 3.4).

$$L_{PD} = \\alpha L_{MLM} + (1-\\alpha) L_{KD} + L_{NSP},\\qquad
  p_T = \\mathrm{softmax}(\\mathrm{MLM}_T(\\tau\\, Y^T_L)),$$

with $\\alpha = 0.5$ and the temperature $\\tau = 1$ multiplying the teacher's last hidden state (not the logits).
All student variables train (multiplier 1) with LAMB, warmup and linear decay; the teacher is frozen.

>>> distiller = PretrainingDistiller(teacher, student)  # doctest: +SKIP
>>> distiller.compile(optimizer=lamb)  # doctest: +SKIP
"""

import keras
from keras import ops

from arlm import runtime
from arlm.distillation import losses
from arlm.distillation.teacher_student import TeacherStudent
from arlm.distillation.transfer import backbone_inputs, unfreeze
from arlm.fitting import LastValue
from arlm.losses import masked_lm_accuracy


def mlm_logits(pretrainer, sequence_output, mask_positions):
    """The pretrainer's MLM head applied to ``sequence_output`` at ``mask_positions``: ``[batch, P, V]``."""
    return pretrainer.mlm_head(sequence_output, mask_positions)


@keras.saving.register_keras_serializable(package="arlm")
class PretrainingDistiller(TeacherStudent):
    """Frozen teacher + student trained with $\\alpha L_{MLM} + (1-\\alpha) L_{KD} + L_{NSP}$ (spec 3.4).

    ``call`` returns the student's ``mlm_logits`` and ``nsp_logits`` and the teacher's ``teacher_mlm_logits``
    (computed on $\\tau Y^T_L$ under stop-gradient). Logs ``mlm``, ``kd``, ``nsp`` and ``mlm_accuracy`` per step.
    Neither model uses dropout (the official code builds both with ``is_training=False``).

    Args:
        teacher: a `MobileBertPretrainer`; frozen.
        student: a `MobileBertPretrainer` (usually initialised by stage 2); every variable trains.
        factors: `losses.DistillationFactors`; ``alpha`` and ``temperature`` are read here.
    """

    def __init__(self, teacher, student, factors=None, **kwargs):
        super().__init__(teacher, student, factors, **kwargs)
        unfreeze(self.student)
        self.trackers = {name: LastValue(name=name) for name in ("mlm", "kd", "nsp", "mlm_accuracy")}

    def call(self, x, training=False):
        inputs = backbone_inputs(x)
        teacher = self.teacher.backbone(inputs, training=False)
        hidden = ops.stop_gradient(teacher["sequence_output"]) * self.factors.temperature
        teacher_logits = ops.stop_gradient(mlm_logits(self.teacher, hidden, x["mask_positions"]))
        return {**self.student(x, training=False), "teacher_mlm_logits": teacher_logits}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        total, terms = losses.pretraining_distillation_loss(
            y, y_pred["mlm_logits"], y_pred["nsp_logits"], y_pred["teacher_mlm_logits"], self.factors.alpha)
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        self.trackers["mlm_accuracy"].update_state(
            masked_lm_accuracy(y["masked_lm_ids"], y_pred["mlm_logits"], y["masked_lm_weights"]))
        return runtime.scale_loss(total)

