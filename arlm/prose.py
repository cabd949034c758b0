"""Sentences a chapter computes from its results, so that its prose cannot contradict the outputs above it.

A chapter states a result-dependent finding with `say`, choosing the wording from the numbers of this run
(whatever its scale and data), instead of a fixed Markdown sentence that holds only for one run:

>>> say(f"News is {share:.0f}% of this corpus" if share else "This corpus has no news.")
"""

import sys


def say(text):
    """Show ``text`` (Markdown) as a paragraph of the page: rendered in a notebook, printed elsewhere.

    Args:
        text (str): the sentence(s), Markdown allowed.
    """
    if "IPython" in sys.modules:
        from IPython import get_ipython

        if get_ipython() is not None:
            from IPython.display import Markdown, display

            display(Markdown(text))
            return
    print(text)

