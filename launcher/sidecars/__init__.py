"""Mesh mode of the local platform (`shop up --mesh`): local CA, workload certificates and
Envoy sidecars configured from deploy/mesh/policy.yaml."""
