"""Recognise secret configuration keys and hide secret values before they are shown or stored."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from itertools import pairwise

REDACTED = "***"

# Whole words (after splitting on separators and camelCase) that mark a key as secret. Matching words rather
# than substrings keeps `tokenizer_model` or `passwordless_login` visible.
_SECRET_WORDS = frozenset(
    {"password", "passwd", "pwd", "secret", "token", "credential", "apikey", "passphrase"}
)
# Adjacent word pairs: `api_key`, `apiKey`, `api-key`, `private_key`.
_SECRET_PAIRS = frozenset({("api", "key"), ("private", "key")})
# A trailing `_KEY` / `_SECRET` after some other word: PAYMENT_API_KEY, SESSION_SECRET, encryption_key.
_SECRET_SUFFIXES = frozenset({"key", "secret"})

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[_\-\s]+")

# Userinfo password of a URL. The password may hold an unencoded '@' (the last '@' before the host wins) but
# not '/', which would otherwise let `http://host:8080/path?mail=a@b` be mistaken for credentials.
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@\s]*:)(?P<password>[^/\s]+)@")
# `password=...` pairs inside DSNs and query strings (libpq key/value strings, JDBC URLs).
_INLINE_PASSWORD = re.compile(r"(?P<head>\b(?:password|passwd|pwd)=)(?P<password>[^&;\s]+)", re.IGNORECASE)


def _words(segment: str) -> list[str]:
    spaced = _CAMEL_BOUNDARY.sub("_", segment)
    words = [word.lower() for word in _SEPARATORS.split(spaced) if word]
    # Plurals (`credentials`, `tokens`, `api_keys`) are as secret as the singular.
    return [word[:-1] if len(word) > 3 and word.endswith("s") else word for word in words]


def _segment_is_secret(segment: str) -> bool:
    words = _words(segment)
    if not words:
        return False
    if any(word in _SECRET_WORDS or word.endswith(("password", "passwd")) for word in words):
        return True
    if any(pair in _SECRET_PAIRS for pair in pairwise(words)):
        return True
    return len(words) > 1 and words[-1] in _SECRET_SUFFIXES


def is_secret_key(dotted_key: str, extra_patterns: Sequence[str] = ()) -> bool:
    """True when the key's last segment names a secret, or the full key matches one of `extra_patterns`.

    Extra patterns are fnmatch globs compared case-insensitively: missing a secret costs more than
    over-redacting a harmless value.
    """
    last = dotted_key.rsplit(".", 1)[-1]
    if _segment_is_secret(last):
        return True
    lowered = dotted_key.lower()
    return any(fnmatchcase(lowered, pattern.lower()) for pattern in extra_patterns)


def redact_value(value: object) -> object:
    """Hide passwords embedded in strings (URLs, `password=` pairs); other values are returned unchanged."""
    if not isinstance(value, str):
        return value
    hidden = _URL_PASSWORD.sub(lambda m: f"{m['head']}{REDACTED}@", value)
    return _INLINE_PASSWORD.sub(lambda m: f"{m['head']}{REDACTED}", hidden)


def _join(prefix: str, key: object) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def redact_node(value: object, path: str, extra_patterns: Sequence[str] = ()) -> object:
    """Redact `value` found at dotted `path`: nested secret keys are hidden, strings lose URL passwords.

    The key at `path` itself is not checked; callers decide that (see `redact_tree`).
    """
    if isinstance(value, Mapping):
        result: dict[str, object] = {}
        for key, child in value.items():
            child_path = _join(path, key)
            secret = is_secret_key(child_path, extra_patterns)
            result[str(key)] = REDACTED if secret else redact_node(child, child_path, extra_patterns)
        return result
    if isinstance(value, list | tuple):
        return [redact_node(child, _join(path, index), extra_patterns) for index, child in enumerate(value)]
    return redact_value(value)


def redact_tree(tree: Mapping[str, object], extra_patterns: Sequence[str] = ()) -> dict[str, object]:
    """Copy of a nested config tree where secret keys' values (whole subtrees) become REDACTED."""
    redacted = redact_node(tree, "", extra_patterns)
    assert isinstance(redacted, dict)  # a Mapping always redacts to a dict
    return redacted


def redact_flat(flat: Mapping[str, object], extra_patterns: Sequence[str] = ()) -> dict[str, object]:
    """Same as `redact_tree` for a map of dotted keys (as produced by `drift.flatten`)."""
    return {
        key: REDACTED if is_secret_key(key, extra_patterns) else redact_node(value, key, extra_patterns)
        for key, value in flat.items()
    }
