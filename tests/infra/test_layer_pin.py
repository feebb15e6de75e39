"""The Powertools layer the stack pins and the versions the project is tested with agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from infra.layer import POWERTOOLS_LAYER
from tests.infra.conftest import Synthesized

REPO_ROOT = Path(__file__).resolve().parents[2]


def _constraints() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (REPO_ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return pins


def test_the_layer_packages_are_the_versions_the_project_installs() -> None:
    pins = _constraints()
    for package, version in POWERTOOLS_LAYER.packages:
        assert pins[package] == version, (
            f"infra/layer.py pins {package} {version} (layer {POWERTOOLS_LAYER.version}) but "
            f"constraints.txt installs {pins[package]}: bump them together"
        )


def test_the_project_dependencies_admit_the_layer_versions() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    requirements = {Requirement(r).name: Requirement(r) for r in project["dependencies"]}
    for package, version in POWERTOOLS_LAYER.packages:
        if package in requirements:
            assert requirements[package].specifier.contains(version), (package, version)
    assert requirements["aws-lambda-powertools"].specifier.contains(
        dict(POWERTOOLS_LAYER.packages)["aws-lambda-powertools"]
    )


def test_every_function_runs_the_pinned_layer(dev: Synthesized) -> None:
    for logical_id, function in dev.resources("AWS::Lambda::Function").items():
        (layer,) = function["Properties"]["Layers"]
        parts = layer["Fn::Join"][1]
        assert parts[-1].endswith(f":{POWERTOOLS_LAYER.name}:{POWERTOOLS_LAYER.version}"), (
            logical_id
        )
        assert function["Properties"]["Runtime"] == f"python{POWERTOOLS_LAYER.python}"
