"""Where two nested config trees differ, leaf by leaf, with dotted paths (`app.database.pool_size`).

Both trees are normalised first: keys become text, lists of maps become maps keyed by an identity field
(`servers.web-1.port`, so reordering is not drift) or else by index, and input we cannot trust (nested too
deep, cyclic, too large) is refused with a DriftInputError. One walk over both normalised trees then finds
the changed leaves. `flatten` normalises the same way, so rules and approvals written against its keys apply.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fnmatch import translate
from typing import Any

from stagetui.domain.secrets import is_secret_key

MAX_DEPTH = 64
"""Keys in one path. Real configs nest a handful of levels; deeper is generated or hostile."""
MAX_VALUES = 1_000_000
"""Leaves per tree, a list of scalars counting its items: shared YAML anchors can multiply a small file."""
IDENTITY_FIELDS = ("name", "id", "key")
"""Tried in order: the first present in every element of a list of maps, with unique values, keys it."""


class DriftInputError(ValueError):
    """A config tree the drift engine refuses; the message names the tree and the path where it stopped."""


class ListNode(dict[str, object]):
    """A normalised list of maps or lists: elements by identity value (`web-1`) or by index (`0`). Insertion
    order is the list's order, so `plain` can give the list back."""


class _Missing:
    """Marks a key absent on one side (None is a legitimate config value)."""


MISSING = _Missing()


class SecretMatcher:
    """Which dotted paths are secret, subtree included: a map key named like one (secrets.py), a match of an
    extra fnmatch pattern (case-insensitive), or an exact key a source declared secret (SSM SecureString).
    A list element's segment is data, not a name: a service named `token-service` is not taken for a secret.
    """

    def __init__(self, patterns: tuple[str, ...] = (), secret_keys: frozenset[str] = frozenset()) -> None:
        # One compiled alternation rather than fnmatch per pattern: this runs for every branch of both trees.
        joined = "|".join(translate(pattern.lower()) for pattern in patterns)
        self._patterns = re.compile(joined) if patterns else None
        self._keys = secret_keys
        self._names: dict[str, bool] = {}

    def __call__(self, path: str, element: bool = False) -> bool:
        if path in self._keys:
            return True
        if self._patterns is not None and self._patterns.fullmatch(path.lower()):
            return True
        if element:
            return False
        name = path.rsplit(".", 1)[-1]
        secret = self._names.get(name)
        if secret is None:
            secret = self._names[name] = is_secret_key(name)
        return secret

    def covers(self, keys: tuple[str, ...], elements: tuple[bool, ...]) -> bool:
        """Whether the path or any path above it is secret."""
        return any(self(".".join(keys[: i + 1]), elements[i]) for i in range(len(keys)))


def key_text(key: object) -> str:
    """A map key as a path segment, in YAML's spelling for the non-string keys YAML allows (`null: x`)."""
    if key is None or isinstance(key, bool):
        return "null" if key is None else str(key).lower()
    return str(key)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _is_leaf_list(value: list[object] | tuple[object, ...]) -> bool:
    """Lists holding no maps or lists are compared and reported as one value: their order matters."""
    return not any(isinstance(item, Mapping | list | tuple) for item in value)


class _Normaliser:
    """One tree: text keys, keyed lists, and the guards. Recursing is safe: depth is capped before."""

    def __init__(self, label: str, secret: SecretMatcher) -> None:
        self.label = label
        self.secret = secret
        self.values = 0
        self.ancestors: set[int] = set()  # containers on the current path: meeting one again is a cycle

    def fail(self, path: str, problem: str) -> DriftInputError:
        return DriftInputError(f"{self.label}: {problem} at `{path or '(top level)'}`")

    def count(self, path: str, values: int) -> None:
        self.values += values
        if self.values > MAX_VALUES:
            raise self.fail(path, f"more than {MAX_VALUES:,} values (a repeated YAML anchor?)")

    def node(self, value: object, path: str, depth: int, sealed: bool) -> object:
        if isinstance(value, Mapping | list | tuple):
            if isinstance(value, list | tuple) and _is_leaf_list(value):
                self.count(path, len(value) or 1)
                return list(value)
            if id(value) in self.ancestors:
                raise self.fail(path, "a reference cycle (a value containing itself)")
            if depth >= MAX_DEPTH and value:
                raise self.fail(path, f"nesting deeper than {MAX_DEPTH} levels")
            self.ancestors.add(id(value))
            try:
                if isinstance(value, Mapping):
                    return self.mapping(value, path, depth, sealed)
                return self.sequence(value, path, depth, sealed)
            finally:
                self.ancestors.discard(id(value))
        self.count(path, 1)
        return value

    def mapping(self, value: Mapping[Any, object], path: str, depth: int, sealed: bool) -> dict[str, object]:
        result: dict[str, object] = {}
        scalars = 0 if value or not path else 1  # an empty section stays visible as a `{}` leaf
        for raw_key, child in value.items():
            if isinstance(raw_key, str):
                key = raw_key
            else:
                key = key_text(raw_key)
                if key in result or key in value:
                    raise self.fail(_join(path, key), "two keys with the same text (such as 1 and '1')")
            if isinstance(child, Mapping | list | tuple):
                child_path = _join(path, key)
                # Only branches need the secret check: it decides whether lists below may be keyed.
                child_sealed = sealed or self.secret(child_path)
                result[key] = self.node(child, child_path, depth + 1, child_sealed)
            else:  # inlined scalar leaf: most of a config, so no call per value
                result[key] = child
                scalars += 1
        self.count(path, scalars)
        return result

    def sequence(
        self, value: list[object] | tuple[object, ...], path: str, depth: int, sealed: bool
    ) -> ListNode:
        result = ListNode()
        # Inside a secret subtree identity values would leak into paths, so such lists stay by index.
        identity = None if sealed else self.identity(value, path)
        for index, child in enumerate(value):
            if identity is None:
                key = str(index)
            else:
                assert isinstance(child, Mapping)  # identity() checked every element
                key = key_text(child[identity])
            child_path = _join(path, key)
            child_sealed = sealed or self.secret(child_path, True)
            result[key] = self.node(child, child_path, depth + 1, child_sealed)
        return result

    def identity(self, items: list[object] | tuple[object, ...], path: str) -> str | None:
        maps = [item for item in items if isinstance(item, Mapping)]
        if len(maps) != len(items):
            return None
        for field in IDENTITY_FIELDS:
            found = [item.get(field) for item in maps]
            # Text or integers only: a float's dot (`1.5`) or a bool would read badly in a dotted path.
            if any(not isinstance(v, str | int) or isinstance(v, bool) for v in found):
                continue
            texts = {key_text(value) for value in found}
            # A field declared secret (a pattern such as `keys.*.key`) must not become a path segment.
            if len(texts) == len(found) and "" not in texts and not self.secret(_join(path, f"0.{field}")):
                return field
        return None


def normalise(
    tree: Mapping[Any, object],
    *,
    prefix: str = "",
    label: str = "config",
    secret: SecretMatcher | None = None,
) -> dict[str, object]:
    """The tree with text keys and its lists of maps or lists as ListNodes (lists of scalars stay lists).

    Raises DriftInputError for a structure deeper than MAX_DEPTH, a reference cycle, more than MAX_VALUES
    values, or two keys with the same text. `secret` decides where lists must stay by index (the default
    knows secret names only); `label` names the tree in error messages.
    """
    matcher = secret or SecretMatcher()
    depth = len(prefix.split(".")) if prefix else 0
    result = _Normaliser(label, matcher).node(tree, prefix, depth, bool(prefix) and matcher(prefix))
    assert isinstance(result, dict)
    return result


def plain(value: object) -> object:
    """A normalised value back as plain dicts and lists (a ListNode becomes the list it was)."""
    if isinstance(value, ListNode):
        return [plain(child) for child in value.values()]
    if isinstance(value, dict):
        return {key: plain(child) for key, child in value.items()}
    return value


def _leaves(node: object, path: str) -> Iterator[tuple[str, object]]:
    if isinstance(node, dict) and node:
        for key, child in node.items():
            yield from _leaves(child, _join(path, key))
    else:
        yield path, node


def flatten(
    tree: Mapping[Any, object], prefix: str = "", *, secret: SecretMatcher | None = None
) -> dict[str, object]:
    """Dotted keys to leaf values, as compute_drift reports them: lists of maps by identity value
    (`servers.web-1.port`) or index (`a.0.b`), lists of scalars as one leaf, empty maps as `{}` leaves.

    Pass the same `secret` matcher as the drift check (its patterns and declared keys) to get its exact keys.
    """
    normalised = normalise(tree, prefix=prefix, secret=secret)
    return {path: plain(value) for path, value in _leaves(normalised, prefix) if path}  # "": empty root


def same_value(left: object, right: object) -> bool:
    """Equality that also requires equal types, so 1 / 1.0 / True are told apart; NaN equals NaN."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same_value(left[key], right[key]) for key in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same_value(a, b) for a, b in zip(left, right, strict=True))
    return bool(left == right) or (left != left and right != right)  # NaN: a config value, not drift


@dataclass(frozen=True, slots=True)
class LeafChange:
    """One changed leaf. `elements[i]` tells whether `keys[i]` names a list element rather than a map key.

    Values are normalised (see `plain`); MISSING when absent on that side. A branch is reported whole only
    when the other side is not a branch (`a: {b: 1}` against `a: 5`); otherwise the walk goes down to leaves.
    """

    keys: tuple[str, ...]
    elements: tuple[bool, ...]
    production: object
    environment: object

    @property
    def path(self) -> str:
        return ".".join(self.keys)


class _Walk:
    def __init__(self) -> None:
        self.changes: list[LeafChange] = []

    def both(
        self, prod: dict[str, object], env: dict[str, object], keys: tuple[str, ...], el: tuple[bool, ...]
    ) -> None:
        element = isinstance(prod, ListNode) and isinstance(env, ListNode)
        for key, left in prod.items():
            right = env.get(key, MISSING)
            # Fast path for the common case, an unchanged scalar: no call, no tuple built.
            if left is right or (
                type(left) is type(right) and not isinstance(left, dict | list | float) and left == right
            ):
                continue
            self.pair(left, right, (*keys, key), (*el, element))
        for key, right in env.items():
            if key not in prod:
                self.pair(MISSING, right, (*keys, key), (*el, element))

    def pair(self, prod: object, env: object, keys: tuple[str, ...], el: tuple[bool, ...]) -> None:
        if isinstance(prod, dict) and isinstance(env, dict):
            self.both(prod, env, keys, el)
        elif prod is MISSING and isinstance(env, dict) and env:
            self.one(env, keys, el, added=True)
        elif env is MISSING and isinstance(prod, dict) and prod:
            self.one(prod, keys, el, added=False)
        elif not same_value(prod, env):
            self.changes.append(LeafChange(keys, el, prod, env))

    def one(self, node: dict[str, object], keys: tuple[str, ...], el: tuple[bool, ...], added: bool) -> None:
        element = isinstance(node, ListNode)
        for key, child in node.items():
            child_keys, child_el = (*keys, key), (*el, element)
            if isinstance(child, dict) and child:
                self.one(child, child_keys, child_el, added)
            elif added:
                self.changes.append(LeafChange(child_keys, child_el, MISSING, child))
            else:
                self.changes.append(LeafChange(child_keys, child_el, child, MISSING))


def diff_trees(
    production: Mapping[Any, object],
    environment: Mapping[Any, object],
    *,
    secret: SecretMatcher | None = None,
) -> list[LeafChange]:
    """Every changed leaf, in no particular order. Raises DriftInputError (naming the tree) for bad input."""
    prod = normalise(production, label="production", secret=secret)
    env = normalise(environment, label="environment", secret=secret)
    walk = _Walk()
    walk.both(prod, env, (), ())
    return walk.changes


def changed_leaves(
    production: Mapping[Any, object], environment: Mapping[Any, object]
) -> dict[str, tuple[object, object]]:
    """Dotted path to (production, environment) for every changed leaf, values as plain dicts and lists."""
    return {
        change.path: (plain(change.production), plain(change.environment))
        for change in diff_trees(production, environment)
    }
