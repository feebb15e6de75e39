"""One Lambda function in Python: arm64, Python 3.13, the Powertools layer, its own log group.

Every function in the stack is built here, so runtime, tracing, logging and packaging are
decided once. Assets are bundled without Docker (there is no daemon on the build machines):
a local bundler copies the function's folder and the `shared` package into the asset, and
compiles them to bytecode with the runtime's Python (infra/runtime.py).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    Acknowledgment,
    Annotations,
    AssetHashType,
    BundlingOptions,
    DockerImage,
    Duration,
    ILocalBundling,
    RemovalPolicy,
    Stack,
    Validations,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.layer import POWERTOOLS_LAYER
from infra.routes import FunctionRoute
from infra.runtime import LAMBDA_TASK_ROOT, compile_tree, runtime_python
from shared.settings import METRICS_NAMESPACE, Variables

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_PACKAGE = "shared"


# Never part of an asset, even if someone drops them inside a function folder.
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache")


def asset_folders(function_folder: str, also: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The repository folders that make up one function's asset, relative to the root: its
    own, the function folders whose handlers it runs (`also`), and `shared`."""
    return (function_folder, *also, SHARED_PACKAGE)


@jsii.implements(ILocalBundling)
class SourceCopyBundler:
    """Bundles by copying source folders (the code has no third-party dependencies to install)
    and compiling them.

    boto3 is in the Lambda runtime and Powertools (with pydantic) comes from its layer, so an
    asset is just our own packages: the function folder, its parents' `__init__.py` files,
    and `shared/`.
    """

    def __init__(self, root: Path, folders: tuple[str, ...], python: str | None = None) -> None:
        self.root = root
        self.folders = folders
        # The runtime's interpreter, to ship bytecode (infra/runtime.py); None ships source.
        self.python = python

    def plan(self) -> list[str]:
        """What goes into the asset, relative to the root: folders, then parent packages."""
        for folder in self.folders:
            if not (self.root / folder).is_dir():
                raise FileNotFoundError(f"asset folder {self.root / folder} does not exist")
        parents = sorted(
            {
                f"{parent.as_posix()}/__init__.py"
                for folder in self.folders
                for parent in Path(folder).parents
                if parent != Path(".") and (self.root / parent / "__init__.py").is_file()
            }
        )
        return [*self.folders, *parents]

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        """Called by the CDK (through jsii) before it would fall back to Docker."""
        self.bundle_into(Path(output_dir))
        return True

    def bundle_into(self, out: Path) -> None:
        """Writes the asset into `out`: the source, then its bytecode."""
        for item in self.plan():
            source, target = self.root / item, out / item
            if source.is_dir():
                shutil.copytree(source, target, ignore=_IGNORED, dirs_exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        if self.python:
            compile_tree(out, self.python)

    def docker_command(self) -> list[str]:
        """What Docker would run if local bundling were ever skipped: the same copy.

        Also keeps the bundling options of two functions distinct, so the CDK's in-process
        asset cache (keyed on the options, not on the local bundler object) never mixes them.
        """
        copies = " && ".join(
            f"mkdir -p /asset-output/{Path(item).parent.as_posix()} && "
            f"cp -r /asset-input/{item} /asset-output/{item}"
            for item in self.plan()
        )
        compile_ = (
            "python -m compileall -q --invalidation-mode unchecked-hash"
            f" -s /asset-output -p {LAMBDA_TASK_ROOT} /asset-output"
        )
        return [
            "bash",
            "-c",
            f"{copies} && find /asset-output -name __pycache__ -prune -exec rm -rf {{}} +"
            f" && {compile_}",
        ]


def function_code(
    function_folder: str, root: Path = REPO_ROOT, also: tuple[str, ...] = ()
) -> lambda_.Code:
    """The asset for one function, source and bytecode; hashed on the bundled output, so a
    `shared/` edit redeploys."""
    bundler = SourceCopyBundler(root, asset_folders(function_folder, also), runtime_python())
    return lambda_.Code.from_asset(
        str(root),
        asset_hash_type=AssetHashType.OUTPUT,
        # With local bundling and an OUTPUT hash the CDK does not fingerprint the source tree
        # (measured: same synth time with or without these); they guard the day the hash type
        # changes, so the 800 MB venv is never walked.
        exclude=[".venv", "node_modules", "cdk.out", ".git", ".local", "tests", "**/__pycache__"],
        bundling=BundlingOptions(
            image=lambda_.Runtime.PYTHON_3_13.bundling_image,
            local=bundler,
            command=bundler.docker_command(),
        ),
    )


@dataclass(frozen=True)
class FunctionSettings:
    """Sizing and logging for one function; defaults suit a synchronous API handler."""

    memory_size: int = 512
    timeout: Duration = field(default_factory=lambda: Duration.seconds(10))
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    log_level: str = "INFO"
    environment: dict[str, str] = field(default_factory=dict)


class PythonFunction(Construct):
    """A Lambda function for one route-table entry, with its own role and log group.

    The role starts empty (no AWS managed policy): the function may write its own log group,
    and whatever the caller grants on top (see TableConstruct grants).

    X-Ray tracing is off: the code records no subsegments, so ACTIVE tracing would bill a
    trace per sampled request that shows only what the logs and metrics already show, and
    Powertools' Tracer would add the X-Ray SDK to every cold start (`make bench` measures it).
    Logs carry the API request id instead (shared/observability.py).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        route: FunctionRoute,
        table_name: str,
        removal_policy: RemovalPolicy,
        settings: FunctionSettings | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = settings or FunctionSettings()
        self.route = route
        self.settings = settings
        stack = Stack.of(self)

        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=settings.log_retention,
            removal_policy=removal_policy,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Waymark {route.name} function",
        )
        # Instead of AWSLambdaBasicExecutionRole (logs:* on every log group): only our group.
        self.log_group.grant_write(self.role)

        powertools = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "Powertools",
            POWERTOOLS_LAYER.arn(stack.region),
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=f"Waymark {route.name} ({route.handler})",
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            handler=route.handler,
            code=function_code(route.folder, also=route.bundles),
            role=self.role,
            layers=[powertools],
            memory_size=settings.memory_size,
            timeout=settings.timeout,
            tracing=lambda_.Tracing.DISABLED,
            log_group=self.log_group,
            environment={
                Variables.TABLE_NAME: table_name,
                Variables.SERVICE_NAME: route.name,
                Variables.METRICS_NAMESPACE: METRICS_NAMESPACE,
                Variables.LOG_LEVEL: settings.log_level,
                **settings.environment,
            },
        )
        if runtime_python() is None:
            Annotations.of(self.function).add_warning_v2(
                "waymark:no-bytecode",
                f"No Python {POWERTOOLS_LAYER.python} here: the asset ships source only, so "
                "every cold start compiles it again. Install it (pyenv install "
                f"{POWERTOOLS_LAYER.python}) to ship bytecode.",
            )
        self._acknowledge()

    def _acknowledge(self) -> None:
        """cdk-nag findings every function has, each with why it stays."""
        Validations.of(self.function).acknowledge(
            Acknowledgment(
                id="AwsSolutions-L1",
                reason=(
                    "Pinned to python3.13 on purpose: Powertools comes from its public layer, "
                    "which is built per Python version (AWSLambdaPowertoolsPythonV3-python313-"
                    "arm64), and the code is tested on 3.11-3.13. Moving to a newer runtime "
                    "means switching layer and test matrix together."
                ),
            )
        )
