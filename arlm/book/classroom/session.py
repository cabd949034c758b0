"""Kernel-side half of the grader: copies of a kernel's namespace, so that each submission's answers run on
the chapter's state as the chapter left it, and submissions that start with the same answers share their
execution. A copy is shallow: an answer that changes an object in place (rather than binding a new one)
changes it for the submissions graded after it in that kernel."""

_SAVED = {}


def save(key, namespace):
    _SAVED[key] = dict(namespace)


def restore(key, namespace):
    saved = _SAVED[key]
    namespace.clear()
    namespace.update(saved)
