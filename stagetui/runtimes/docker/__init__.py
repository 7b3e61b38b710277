"""The docker runtime: environments as labelled containers, networks and volumes on a Docker Engine."""
