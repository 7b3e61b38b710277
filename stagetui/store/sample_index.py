"""Metric samples of one history chunk, converted once and indexed for the dashboard's queries.

Every query asks for samples since a time, often of one metric; converting 100k records (ISO times, enums)
on each query cost more than the filtering. MetricSample is frozen and holds only immutable values, so
the converted samples are shared between queries. Samples of one environment repeat the same strings and
times: they are shared too, which keeps the cached form smaller than the parsed JSON it replaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from stagetui.domain.models import MetricSample, Strategy
from stagetui.store.files import Records

_STRATEGIES = {strategy.value: strategy for strategy in Strategy}  # a dict lookup: Strategy(v) costs 1 µs


@dataclass(frozen=True)
class SampleIndex:
    samples: list[MetricSample]
    by_metric: dict[str, list[MetricSample]]
    first: datetime | None
    last: datetime | None

    def select(self, since: datetime | None, metric: str | None) -> list[MetricSample]:
        pool = self.samples if metric is None else self.by_metric.get(metric, [])
        if since is None or not pool or (self.first is not None and self.first >= since):
            return pool
        if self.last is not None and self.last < since:
            return []
        return [sample for sample in pool if sample.at >= since]


def build(records: Records) -> SampleIndex:
    strings: dict[str, str] = {}
    times: dict[str, datetime] = {}
    share = strings.setdefault

    def text(value: str | None) -> str | None:
        return None if value is None else share(value, value)

    samples = []
    by_metric: dict[str, list[MetricSample]] = {}
    for record in records.values():
        stamp = record["at"]
        at = times.get(stamp)
        if at is None:
            at = times[stamp] = datetime.fromisoformat(stamp)
        sample = MetricSample(
            at=at,
            metric=share(record["metric"], record["metric"]),
            value=record["value"],
            environment_uid=share(record["environment_uid"], record["environment_uid"]),
            environment_id=share(record["environment_id"], record["environment_id"]),
            strategy=_STRATEGIES.get(record["strategy"]) or Strategy(record["strategy"]),
            runtime=share(record["runtime"], record["runtime"]),
            branch=share(record["branch"], record["branch"]),
            step=text(record.get("step")),
            experiment=text(record.get("experiment")),
        )
        samples.append(sample)
        by_metric.setdefault(sample.metric, []).append(sample)
    instants = times.values()
    return SampleIndex(samples, by_metric, min(instants, default=None), max(instants, default=None))
