from otter.test_files import test_case

from arlm.book.classroom.checks import need

name = "ex-1-4"
expects = ("split: the 8 most frequent all-letter words that vocab_small.txt splits into several pieces; "
           "answer: those of them (a list) that vocab.txt cuts into fewer pieces")
refuses = "answer = len(answer)"  # how many words, not which


def _expected(stats, tok_small):
    return [w for w, _ in stats.word_counts.most_common()
            if w.isalpha() and len(tok_small.tokenize_word(w)) > 1][:8]


@test_case()
def test_words_the_small_vocabulary_splits(split, tok_small):
    need(split=split)
    assert len(split) == 8, "split should hold 8 words"
    assert all(w.isalpha() and len(tok_small.tokenize_word(w)) > 1 for w in split), (
        "a word of split has non-letters or is one piece of vocab_small.txt")


@test_case()
def test_the_most_frequent_ones(split, stats, tok_small):
    need(split=split)
    assert set(split) == set(_expected(stats, tok_small)), "split are not the most frequent such words"


@test_case()
def test_the_words_with_fewer_pieces(answer, stats, tok, tok_small):
    need(answer=answer)
    expected = {w for w in _expected(stats, tok_small) if len(tok.tokenize_word(w)) < len(tok_small.tokenize_word(w))}
    assert set(answer) == expected, "answer is not the words that vocab.txt cuts into fewer pieces"
