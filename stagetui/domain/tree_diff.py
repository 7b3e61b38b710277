"""Where two nested config trees differ, leaf by leaf, with dotted paths (`app.database.pool_size`).

DeepDiff finds the spots; each is resolved to leaf paths matching `flatten`'s keys, so severity rules and
approvals written against dotted keys apply to every change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from deepdiff import DeepDiff


def _is_leaf_list(value: object) -> bool:
    """Lists holding no maps or lists are compared and reported as one value."""
    return isinstance(value, list) and not any(isinstance(item, Mapping | list) for item in value)


def _join(prefix: str, key: object) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def flatten(tree: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    """Dotted keys to leaf values. Lists of scalars stay one leaf; other lists get index segments (`a.0.b`).

    Empty maps are kept as `{}` leaves (under a prefix) so that an empty section still shows up.
    """
    return _leaves(tree, prefix)


def _leaves(value: object, path: str) -> dict[str, object]:
    flat: dict[str, object] = {}
    _flatten_into(flat, value, path)
    return flat


def _flatten_into(flat: dict[str, object], node: object, path: str) -> None:
    if isinstance(node, Mapping) and (node or not path):
        for key, child in node.items():
            _flatten_into(flat, child, _join(path, key))
    elif isinstance(node, list) and not _is_leaf_list(node):
        for index, child in enumerate(node):
            _flatten_into(flat, child, _join(path, index))
    else:
        flat[path] = node


class _Missing:
    """Marks a key absent on one side (None is a legitimate config value)."""


MISSING = _Missing()


def same_value(left: object, right: object) -> bool:
    """Equality that also requires equal types, so 1 / 1.0 / True are told apart as DeepDiff does."""
    if type(left) is not type(right):
        return False
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(same_value(left[key], right[key]) for key in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same_value(a, b) for a, b in zip(left, right, strict=True))
    return left == right


def _child(node: object, key: object) -> object:
    if isinstance(node, Mapping):
        return node.get(key, MISSING)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return MISSING


def _resolve(
    production: object, environment: object, segments: Sequence[object]
) -> tuple[str, object, object]:
    """Follow DeepDiff's path segments, stopping at a list of scalars (reported as a whole)."""
    path = ""
    prod, env = production, environment
    for key in segments:
        if _is_leaf_list(prod) or _is_leaf_list(env):
            break
        path = _join(path, key)
        prod, env = _child(prod, key), _child(env, key)
    return path, prod, env


def _is_branch(value: object) -> bool:
    return isinstance(value, Mapping) or (isinstance(value, list) and not _is_leaf_list(value))


def _leaf_pairs(path: str, prod: object, env: object) -> Iterable[tuple[str, object, object]]:
    """Break a reported difference into leaf differences whose paths match `flatten`'s keys."""
    if isinstance(prod, Mapping) and isinstance(env, Mapping):
        for key in prod.keys() | env.keys():
            yield from _leaf_pairs(_join(path, key), _child(prod, key), _child(env, key))
    elif isinstance(prod, list) and isinstance(env, list) and _is_branch(prod) and _is_branch(env):
        for index in range(max(len(prod), len(env))):
            yield from _leaf_pairs(_join(path, index), _child(prod, index), _child(env, index))
    elif prod is MISSING and _is_branch(env):
        yield from ((leaf, MISSING, value) for leaf, value in _leaves(env, path).items())
    elif env is MISSING and _is_branch(prod):
        yield from ((leaf, value, MISSING) for leaf, value in _leaves(prod, path).items())
    elif not same_value(prod, env):
        yield path, prod, env


def changed_leaves(
    production: Mapping[str, object], environment: Mapping[str, object]
) -> dict[str, tuple[object, object]]:
    """DeepDiff locates what differs; each spot is then resolved to leaf paths and both sides' values."""
    # threshold 0: DeepDiff would otherwise report a map sharing few keys as one value (_leaf_pairs splits
    # such reports too, but leaf-level paths from DeepDiff keep that fallback rare).
    diff = DeepDiff(dict(production), dict(environment), view="tree", threshold_to_diff_deeper=0)
    changed: dict[str, tuple[object, object]] = {}
    visited: set[str] = set()
    for levels in diff.values():
        for level in levels:
            path, prod, env = _resolve(production, environment, level.path(output_format="list"))
            if path in visited:  # several element changes inside one list of scalars
                continue
            visited.add(path)
            for leaf, left, right in _leaf_pairs(path, prod, env):
                changed[leaf] = (left, right)
    return changed
