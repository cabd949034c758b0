"""What the exercises' test files share: a missing answer named, numbers compared with a tolerance."""

import math


def need(**answers):
    """Fail with the name of the first answer the notebook did not bind."""
    for name, value in answers.items():
        assert value is not None, f"no `{name}`: the answer binds it (see the comment in the answer cell)"


def close(value, expected, rel=1e-3, abs_tol=1e-9):
    """Whether `value` is a number within `rel` (relative) or `abs_tol` of `expected`."""
    try:
        return math.isclose(float(value), float(expected), rel_tol=rel, abs_tol=abs_tol)
    except (TypeError, ValueError):
        return False
