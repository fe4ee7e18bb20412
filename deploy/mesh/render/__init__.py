"""Render the Kubernetes and Istio manifests of shopmesh from deploy/mesh/policy.yaml.

    python -m deploy.mesh.render           # rewrite the generated files
    python -m deploy.mesh.render --check   # exit 1 when a committed file differs

The policy file is the single source of who may call which gRPC method, timeouts, retries,
circuit breaking and SLOs; the workloads are rendered from it too so that ports, callers,
NetworkPolicies and AuthorizationPolicies can never disagree. One module per kind of output
(see outputs.py); policy.py parses the file.
"""

from . import envoy, istio, policy
from .cli import main
from .outputs import OUTPUTS, render
from .policy import POLICY_FILE, Policy, Workload

__all__ = [
    "OUTPUTS",
    "POLICY_FILE",
    "Policy",
    "Workload",
    "main",
    "render",
    "envoy",
    "istio",
    "policy",
]
