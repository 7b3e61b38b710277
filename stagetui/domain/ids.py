"""Environment ids derived from branch names.

An id must be safe everywhere it is used later: directory names, DNS names, Docker labels and container names,
AWS tags, SQL identifiers and shell words. So it is a DNS-1123 label (lowercase ASCII letters, digits and
hyphens, at most 63 characters, starting and ending with a letter or digit) and nothing the user typed reaches
it unfiltered.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from stagetui.domain.models import Strategy

MAX_BRANCH_LENGTH = 200
MAX_ID_LENGTH = 63
_SLUG_LENGTH = 40
_ID_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

STRATEGY_ABBREVIATIONS: dict[Strategy, str] = {
    Strategy.FULL_CLONE: "clone",
    Strategy.SNAPSHOT: "snap",
    Strategy.CONTAINERIZED: "ctr",
}


class InvalidBranchError(ValueError):
    """A branch name that cannot name an environment."""


def validate_branch(branch: str) -> str:
    """Return the branch name if it can name an environment, else raise with the reason."""
    if not branch.strip():
        raise InvalidBranchError("branch name is empty")
    if len(branch) > MAX_BRANCH_LENGTH:
        raise InvalidBranchError(f"branch name is longer than {MAX_BRANCH_LENGTH} characters")
    for char in branch:
        if unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"}:
            raise InvalidBranchError(f"branch name contains a control character (U+{ord(char):04X})")
    return branch


def slugify(text: str, max_length: int = _SLUG_LENGTH) -> str:
    """Lowercase ASCII letters, digits and single hyphens; accents folded, everything else a hyphen."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")
    return slug[:max_length].rstrip("-")


def environment_id(branch: str, strategy: Strategy) -> str:
    """A safe, stable id for the environment of `branch` provisioned with `strategy`.

    The short hash of the exact branch name keeps ids collision-free when two branches slugify alike
    (`feat/x` and `feat-x`); the strategy abbreviation keeps environments of one branch apart and readable.
    """
    validate_branch(branch)
    digest = hashlib.sha256(branch.encode("utf-8")).hexdigest()[:5]
    slug = slugify(branch) or "env"
    identifier = f"{slug}-{STRATEGY_ABBREVIATIONS[strategy]}-{digest}"
    assert is_valid_id(identifier), identifier
    return identifier


def is_valid_id(identifier: str) -> bool:
    """True for a DNS-1123 label, the shape every environment id has."""
    return bool(_ID_PATTERN.match(identifier))


_OWNER = re.compile(r"[\w.@-]{1,64}")


def is_valid_owner(owner: str) -> bool:
    """1-64 letters, digits, '.', '@', '_' or '-': an owner goes into labels, tags and the audit trail, so
    it can carry no control character, space or shell metacharacter."""
    return bool(_OWNER.fullmatch(owner))
