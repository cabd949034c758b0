"""The common base of both distillation stages: a frozen teacher and a student in one `keras.Model`.

It owns what stages 2 and 3 share: freezing the teacher, the loss factors, and saving the pair to a ``.keras``
file (both sub-models and the factors are serialised; subclasses add their own arguments to `get_config`).
"""

import keras

from arlm.distillation import losses


class TeacherStudent(keras.Model):
    """A frozen `teacher` and a trainable `student` (both `MobileBertPretrainer`) with `losses.DistillationFactors`."""

    def __init__(self, teacher, student, factors=None, **kwargs):
        super().__init__(**kwargs)
        self.teacher = teacher
        self.student = student
        self.factors = factors or losses.DistillationFactors()
        self.teacher.trainable = False

    def get_config(self):
        return {
            **super().get_config(),
            "teacher": keras.saving.serialize_keras_object(self.teacher),
            "student": keras.saving.serialize_keras_object(self.student),
            "factors": self.factors.as_dict(),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["teacher"] = keras.saving.deserialize_keras_object(config["teacher"])
        config["student"] = keras.saving.deserialize_keras_object(config["student"])
        config["factors"] = losses.DistillationFactors(**config["factors"])
        return cls(**config)
