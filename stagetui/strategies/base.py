"""A strategy decides where an environment's data and config come from, as a plan of steps.
Most plans do not care which runtime runs the environment (runtimes sit behind ProvisionContext.runtime);
a snapshot on AWS is made of AWS's own snapshots, a plan of its own."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import timedelta

from stagetui.config.model import StagetuiConfig
from stagetui.domain.models import Strategy
from stagetui.domain.plans import Plan
from stagetui.strategies.provision import ProvisionContext


class ProvisioningStrategy(ABC):
    kind: Strategy

    @abstractmethod
    def plan(self, settings: StagetuiConfig, runtime: str = "local") -> Plan[ProvisionContext]:
        """The steps that provision an environment with this strategy on `runtime`."""

    @abstractmethod
    def max_data_age(self, settings: StagetuiConfig) -> timedelta:
        """The freshness target of environments provisioned this way."""
