"""The Powertools Lambda layer every function runs with: pinned here, and only here.

The stack builds the layer's ARN from this pin (infra/constructs/python_function.py), the
deploy smoke test (tests/smoke) installs its package set into a Python 3.13 environment, and
tests/smoke/test_layer_pin.py fails when the pin and the project's constraints disagree.
Kept free of CDK imports: the smoke test reads it without aws_cdk.

The official v3 layers are built from `aws-lambda-powertools[all]==<version>`
(powertools-lambda-python, layer_v3/layer_constructors/helpers.py), so they carry pydantic v2,
cryptography and the X-Ray SDK: nothing but our own code goes into the assets. To move to a
newer layer, read its Powertools version from the layer's description
(`aws lambda get-layer-version-by-arn --arn <arn> --query Description`) and bump the version
here, `aws_lambda_powertools` and `pydantic` in constraints.txt, together.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LayerPin:
    account: str
    name: str
    version: int
    # What the layer version carries, as pip pins: Powertools and what its `[all]` extra
    # resolved to that our code imports (pydantic for the models, cryptography for secrets).
    packages: tuple[tuple[str, str], ...]
    python: str

    def arn(self, region: str, partition: str = "aws") -> str:
        return f"arn:{partition}:lambda:{region}:{self.account}:layer:{self.name}:{self.version}"

    def requirement(self, package: str) -> str:
        return f"{package}=={dict(self.packages)[package]}"

    @property
    def requirements(self) -> list[str]:
        """What to pip-install to get the layer's package set (Powertools with its extras)."""
        extras = {"aws-lambda-powertools": "aws-lambda-powertools[all]"}
        return [f"{extras.get(name, name)}=={version}" for name, version in self.packages]


POWERTOOLS_LAYER = LayerPin(
    account="017000801446",
    name="AWSLambdaPowertoolsPythonV3-python313-arm64",
    version=27,
    packages=(
        ("aws-lambda-powertools", "3.37.0"),
        ("pydantic", "2.14.4"),
        ("cryptography", "50.0.2"),
    ),
    python="3.13",
)
