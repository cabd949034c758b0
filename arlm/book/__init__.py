"""What only the book needs, apart from the library (`arlm` without this package, which never imports it).

Running the chapters (`runner`, `staging`), building the site (`build`, `demo`), the committed edition
(`edition`), the reports and sentences computed from a run (`reporting`, `claims`, `prose`), the chapters'
figures (`figures`, `diagrams`, `bidi`) and the classroom kit (`classroom`). Their packages come with the
``book`` extra (`pip install 'arlm[book]'`); `arlm.cli` imports this package only inside the commands that need it.
"""

# the top-level modules of the ``book`` extra's packages (pyproject.toml) that code here imports: a command that
# needs one of them and finds it missing says to install the extra
MODULES = ("papermill", "jupytext", "nbformat", "nbclient", "ipykernel", "IPython", "jupyter_client", "jupyter_core",
           "jupyter_book", "seaborn", "otter", "jupyterquiz")


def __getattr__(name):
    # ``arlm.book.classroom.check(...)`` in a notebook that did ``import arlm``: submodules load on first use
    from arlm import _submodule

    return _submodule(__name__, name)
