from otter.test_files import test_case

from arlm.book.classroom.checks import need

name = "ex-1-1"
expects = "answer: the words of سأل، مسؤول، قرآن whose spelling `text.bert_lowercase` leaves unchanged (a list)"
refuses = 'answer = ["سأل", "مسؤول", "قرآن"]'  # every word kept: the hamza and the madda taken for letters
WORDS = ("سأل", "مسؤول", "قرآن")


@test_case()
def test_a_list_of_the_words(answer):
    need(answer=answer)
    assert all(word in WORDS for word in answer), "answer holds something other than the three words"


@test_case()
def test_the_words_that_keep_their_spelling(answer):
    from arlm import text

    need(answer=answer)
    assert set(answer) == {w for w in WORDS if text.bert_lowercase(w) == w}, (
        "answer is not the set of words that bert_lowercase leaves as they are")
