"""benchmarks/peer_pretraining.py at a toy size: arlm's teacher (one block) for a few updates on pretraining
records made from the embedded corpus, then the PyTorch peer (one layer, width 64) for the same wall time on the
same batches, both scored on the same batches."""

import importlib
import re
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def test_arlm_and_the_peer_train_equally_long_on_the_same_batches(tmp_path, monkeypatch, capsys):
    from arlm import corpus, runtime
    from arlm.pretraining_data import PretrainingConfig, create_pretraining_data
    from arlm.scales import resolve
    from arlm.tokenizer import train_vocabulary

    documents = [d.lines for d in corpus.iter_corpus(corpus.default_sources().sources[:1], max_words=8000)]
    train_vocabulary(documents, 400, tmp_path / "vocab.txt")
    create_pretraining_data(documents, tmp_path / "vocab.txt", tmp_path / "data",
                            PretrainingConfig(max_seq_length=32, max_predictions_per_seq=5, dupe_factor=1),
                            workers=1, progress=False)
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    peer_pretraining = importlib.import_module("peer_pretraining")
    try:
        assert peer_pretraining.main([
            "--scale", "tiny", "--steps", "6", "--set", "batch_size=4", "--set", "warmup_steps=2",
            "--set", "num_layers=1", "--data", str(tmp_path / "data"), "--vocab", str(tmp_path / "vocab.txt"),
            "--eval-batches", "2", "--peer-layers", "1", "--peer-hidden", "64", "--probe", "2",
            "--workdir", str(tmp_path / "work")]) == 0
    finally:
        runtime.setup(resolve("tiny"), verbose=False)
    out = capsys.readouterr().out
    assert "tiny scale, 6 arlm updates of 4 x 32; arlm in float32, the peer in float32" in out
    arlm_row = re.search(r"^arlm IBERTA, tiny scale +([\d,]+) +6 +768 +(\d+) .* ([\d.]+)%$", out, re.M)
    peer_row = re.search(r"^peer BERT 1L/64H \(torch [^)]+\) +([\d,]+) +([\d,]+) +([\d,]+) +(\d+) .* ([\d.]+)%$",
                         out, re.M)
    assert arlm_row and peer_row, out
    assert int(peer_row[2].replace(",", "")) >= 1  # it trained, for arlm's time (to the second)
    assert abs(int(peer_row[4]) - int(arlm_row[2])) <= 2
    assert "arlm / peer:" in out and "(on 2 batches of 4, dropout off)" in out
    assert not list((tmp_path / "work").glob("tmp*"))  # the batches and arlm's checkpoints are cleaned up
