"""MobileBERT's two distillation stages as the Arabic paper ran them (spec sections 3.3-3.5; chapters 3 and 4).

* `losses`: every loss term as a named ``keras.ops`` function (FMT, AT, MEAN, VAR, L_KT, L_PD) and
  `losses.DistillationFactors` (Table 2; beta 5000 as run, `DistillationFactors.paper()` for 500);
* `schedules`: stage-2 loss gates g_l(t), background rate bg(t), per-block multipliers 3 bg(t) c_l(t);
* `transfer`: `ProgressiveKnowledgeTransfer`, the stage-2 model (frozen teacher + student), and the student's
  initialisation from the teacher;
* `pretraining_distiller`: `PretrainingDistiller`, the stage-3 model;
* `stages`: the stages and the from-scratch control as runs on a run folder, plus masked-LM evaluation.

Chapter 4's fine-tuned comparison of the distilled and the from-scratch student is `arlm.tasks.evidence` (it
fine-tunes, a later stage of the pipeline).

Submodules are imported explicitly (``from arlm.distillation import losses``), so importing this package
loads neither TensorFlow nor Keras.
"""
