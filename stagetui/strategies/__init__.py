"""Strategies: each builds a plan of steps for one way of provisioning an environment."""
