# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 7. Results: the paper beside this book
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/arlm-book/arlm/blob/notebooks/book/chapters/07_results.ipynb)
#
# **Learning objectives**
# - (filled in by the chapter's issue)

# %% tags=["remove-cell"]
# Colab: install the book's library and pick the Keras backend (a no-op elsewhere).
import sys

if "google.colab" in sys.modules:
    # %pip would be the notebook idiom; subprocess keeps this cell valid Python for jupytext and ruff.
    import subprocess

    source = "arlm[book] @ git+https://github.com/arlm-book/arlm"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", source], check=True)

# %% tags=["parameters"]
scale = "tiny"  # tiny | cpu | gpu | full
run_dir = None  # default: runs/<scale>
overrides = {}  # any key of arlm.scales, e.g. {}

# %%
import arlm

cfg = arlm.scales.resolve(scale, **overrides)
ch = arlm.artifacts.Chapter("07_results", scale, run_dir)
runtime = arlm.runtime.setup(cfg)

# %% [markdown]
# ## Results

# %%
ch.write_results({})
