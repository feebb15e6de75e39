"""Infra tests. jsii's Node end-of-life banner is noise here; it must be silenced before the
first `import aws_cdk` starts the jsii runtime, which this package import precedes."""

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
