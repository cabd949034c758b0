"""A virtual environment for a reference implementation that cannot share arlm's (its own TensorFlow, or torch).

Built once with PyPI under the benchmark's work folder and reused; a ``.complete`` marker tells a finished build
from an interrupted one.
"""

import subprocess
import sys
from pathlib import Path


def build_venv(venv, packages, no_deps=(), timeout=1800):
    """Create `venv` with `packages` (and `no_deps` installed without their dependencies); returns its python."""
    venv = Path(venv)
    python = venv / "bin" / "python"
    marker = venv / ".complete"
    if not marker.exists():
        print(f"building the reference environment in {venv} ({', '.join([*packages, *no_deps])}) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, *packages], check=True, timeout=timeout)
        if no_deps:
            subprocess.run([*pip, "--no-deps", *no_deps], check=True, timeout=timeout)
        marker.write_text("ok\n")
    return python


TORCH_PACKAGES = ["torch", "transformers<5"]


def torch_python(workdir):
    """A python that imports torch and transformers: this one, or one in a virtual environment built for them."""
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401

        return Path(sys.executable)
    except ImportError:
        return build_venv(Path(workdir) / "torch-venv", TORCH_PACKAGES)
