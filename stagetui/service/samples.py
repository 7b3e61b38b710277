"""Recording metric samples: the one place they are tagged with the experiment running in their scope."""

from __future__ import annotations

from stagetui.domain.experiments import tag_sample
from stagetui.domain.models import MetricSample
from stagetui.service import experiments
from stagetui.service.core import ServiceCore


def record_samples(core: ServiceCore, samples: list[MetricSample]) -> list[MetricSample]:
    """Store samples tagged with the experiment running in their scope, if any, so benchmarks and later
    baselines leave a deliberately changed setup out and the experiment finds its own samples. Returns
    the samples as stored (tagged)."""
    active = experiments.running(core)
    tagged = [tag_sample(active, sample) for sample in samples] if active else samples
    core.store.add_metrics(tagged)
    return tagged
