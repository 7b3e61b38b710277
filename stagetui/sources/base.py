"""Where configuration comes from, behind one interface: each source reads into a nested map under a
namespace (`app.*`, `env.*`, `feature_flags.*`, `ssm.*`), which the drift engine flattens to dotted keys."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field

from stagetui.sources.files import ConfigSourceError


@dataclass(frozen=True)
class LoadedConfig:
    tree: dict[str, object]
    secret_keys: frozenset[str] = field(default_factory=frozenset)
    """Dotted keys the source itself knows are secret (e.g. SSM SecureString parameters)."""


class ConfigSource(ABC):
    description: str
    """Short words for errors and reports: "files ./prod", "ssm /prod/shop/"."""

    @abstractmethod
    def load(self) -> LoadedConfig:
        """Read the source now. Raises ConfigSourceError with a message naming the source."""


def merge_sources(sources: Iterable[ConfigSource], *, later_wins: bool = False) -> LoadedConfig:
    """One tree from several sources. Two sources filling the same namespace is an error (which value
    would production be?), unless `later_wins`: an environment's live variables may replace the `env`
    namespace of its rendered config, since what runs beats what was declared."""
    tree: dict[str, object] = {}
    secrets: set[str] = set()
    owner: dict[str, str] = {}
    for source in sources:
        loaded = source.load()
        for namespace, value in loaded.tree.items():
            if namespace in tree and not later_wins:
                raise ConfigSourceError(
                    f"namespace {namespace!r} comes from both {owner[namespace]} and {source.description}"
                )
            tree[namespace] = value
            owner[namespace] = source.description
        secrets |= loaded.secret_keys
    return LoadedConfig(tree, frozenset(secrets))
