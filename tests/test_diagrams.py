"""The diagrams are drawn from the presets and schedules: their labels are the models' own sizes."""


from arlm.book import diagrams
from arlm.mobilebert.config import CONFIGS


def texts(figure):
    return [t.get_text() for ax in figure.axes for t in ax.texts + [ax.title]]


def test_the_student_block_shows_its_widths_and_shared_bottleneck():
    labels = " ".join(texts(diagrams.bottleneck_block(CONFIGS["mberta"])))
    assert "Dense 256→128" in labels and "128→512 ReLU→128" in labels and "FFN × 4" in labels
    assert "Q, K: shared 128-wide bottleneck, V: X (256)" in labels and "NoNorm" in labels and "24 blocks" in labels


def test_the_teacher_block_is_an_ib_bert_block_with_layernorm():
    labels = " ".join(texts(diagrams.bottleneck_block(CONFIGS["iberta"])))
    assert "B = 256" in labels and "LayerNorm" in labels and "GELU" in labels and "FFN ×" not in labels


def test_pipeline_and_schedule_fit_the_text_column():
    block = diagrams.bottleneck_block(CONFIGS["mberta"])
    for figure in (diagrams.pipeline(), diagrams.transfer_schedule(4, 100), block):
        assert figure.get_size_inches()[0] <= diagrams.WIDTH
    schedule = diagrams.transfer_schedule(4, 100)
    assert schedule.axes[0].get_xlim() == (0.0, 400.0) and "4 phases of 100 steps" in " ".join(texts(schedule))
