"""The Lambda runtime, reproduced on this machine: its Python, bytecode compiled for it, and
an environment holding what the runtime and the Powertools layer provide.

Bytecode goes into every asset: Lambda's /var/task is read-only, so a module shipped as source
alone is compiled again at every cold start (`make bench` measures it). It is version-specific,
so the runtime's Python (the layer pin's) compiles it. The deploy smoke test and `make bench`
run the assets in the layer environment. Kept free of CDK imports.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from infra.layer import POWERTOOLS_LAYER

REPO_ROOT = Path(__file__).resolve().parents[1]
# Where Lambda unpacks an asset: tracebacks name the deployed files.
LAMBDA_TASK_ROOT = "/var/task"
# Built environments, one per pin (gitignored).
ENVIRONMENTS_DIR = REPO_ROOT / ".smoke"


@functools.cache
def runtime_python(version: str = POWERTOOLS_LAYER.python) -> str | None:
    """An interpreter of `version` on this machine (this one, one on PATH, or pyenv's), checked
    by running it: a pyenv shim exists for every installed version but runs only the active."""
    candidates = [
        sys.executable,
        shutil.which(f"python{version}"),
        *sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python{version}"))),
    ]
    for candidate in filter(None, candidates):
        try:
            found = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            continue
        if found == version:
            return candidate
    return None


def compile_tree(folder: Path, python: str, task_root: str = LAMBDA_TASK_ROOT) -> None:
    """Writes `__pycache__` bytecode beside every module under `folder`.

    Unchecked hashes: the interpreter trusts the bytecode without reading the source's mtime
    (zip archives do not keep it) or hashing it; an asset never changes once deployed. The
    output is reproducible, so the asset hash moves only when the source does.
    """
    subprocess.run(
        [
            python,
            "-m",
            "compileall",
            "-q",
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
            str(folder),
            "-p",
            task_root,
            str(folder),
        ],
        check=True,
        capture_output=True,
    )


def runtime_requirements() -> list[str]:
    """The layer's package set, and boto3 (in the Lambda runtime) at the project's pin."""
    pins = dict(
        line.split("==", 1)
        for line in (REPO_ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    return [*POWERTOOLS_LAYER.requirements, f"boto3=={pins['boto3']}"]


def layer_environment() -> Path:
    """A venv of the runtime's Python with the runtime's and the layer's packages and nothing of
    the dev install; cached per pin, built (about a minute) when the pin changes."""
    python = runtime_python()
    if python is None:
        raise RuntimeError(f"No Python {POWERTOOLS_LAYER.python} on this machine: install it.")
    requirements = runtime_requirements()
    key = hashlib.sha256(json.dumps([POWERTOOLS_LAYER.python, requirements]).encode())
    venv = ENVIRONMENTS_DIR / f"venv-{key.hexdigest()[:16]}"
    if (venv / ".complete").exists():
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, *requirements], check=True)
    (venv / ".complete").write_text("\n".join(requirements) + "\n")
    return venv
