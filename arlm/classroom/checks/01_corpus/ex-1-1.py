from otter.test_files import test_case

from arlm.classroom.checks import need

name = "ex-1-1"
expects = "kept: the words of سأل، مسؤول، قرآن whose spelling `text.bert_lowercase` leaves unchanged (a list)"
WORDS = ("سأل", "مسؤول", "قرآن")


@test_case()
def test_a_list_of_the_words(kept):
    need(kept=kept)
    assert all(word in WORDS for word in kept), "kept holds something other than the three words"


@test_case()
def test_the_words_that_keep_their_spelling(kept):
    from arlm import text

    need(kept=kept)
    assert set(kept) == {w for w in WORDS if text.bert_lowercase(w) == w}, (
        "kept is not the set of words that bert_lowercase leaves as they are")
