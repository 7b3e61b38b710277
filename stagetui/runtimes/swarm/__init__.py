"""The swarm runtime: an environment as a stack of Swarm services on a multi-node Docker Swarm cluster."""
