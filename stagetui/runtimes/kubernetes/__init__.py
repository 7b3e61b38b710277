"""Kubernetes, first step: an environment rendered as manifests (Namespace, Deployments, Services,
ConfigMaps, Secrets) from its compose definition, validated offline. Pure: nothing here talks to a cluster."""
