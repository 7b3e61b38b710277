"""The strategies by name."""

from __future__ import annotations

from stagetui.domain.models import Strategy
from stagetui.strategies.base import ProvisioningStrategy
from stagetui.strategies.containerized import ContainerizedStrategy
from stagetui.strategies.full_clone import FullCloneStrategy
from stagetui.strategies.snapshot import SnapshotStrategy

STRATEGIES: dict[Strategy, ProvisioningStrategy] = {
    Strategy.FULL_CLONE: FullCloneStrategy(),
    Strategy.SNAPSHOT: SnapshotStrategy(),
    Strategy.CONTAINERIZED: ContainerizedStrategy(),
}


def strategy_for(kind: Strategy) -> ProvisioningStrategy:
    return STRATEGIES[kind]
