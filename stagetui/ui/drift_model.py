"""The drift panel's tree, built from a stored drift check: unapproved and approved differences grouped by
config path, each leaf showing the change, both values (secrets already redacted) and the severity."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from stagetui.ui.view_models import SEVERITY_TONES, Tone

KIND_MARKS = {"changed": "~", "added": "+", "removed": "-", "type_changed": "≠"}


@dataclass
class DriftNode:
    label: str
    tone: Tone = Tone.NORMAL
    children: list[DriftNode] = field(default_factory=list)
    expanded: bool = True
    path: str | None = None
    """The dotted key of a difference (leaves only): what an approval from the tree covers."""

    def child(self, label: str) -> DriftNode:
        for node in self.children:
            if node.label == label:
                return node
        node = DriftNode(label)
        self.children.append(node)
        return node


def _value(value: object, width: int = 24) -> str:
    text = "—" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _leaf(item: Mapping[str, object], name: str) -> DriftNode:
    kind = str(item.get("kind"))
    severity = str(item.get("severity"))
    production, environment = _value(item.get("production")), _value(item.get("environment"))
    change = {"added": f"= {environment}", "removed": f"was {production}"}.get(
        kind, f"{production} → {environment}"
    )
    path = str(item.get("path"))
    approval = item.get("approval")
    if isinstance(approval, Mapping):
        until = f" until {approval.get('expires')}" if approval.get("expires") else ""
        label = f"{KIND_MARKS.get(kind, '?')} {name}: {change}  ✓ {approval.get('approver')}{until}"
        return DriftNode(label, Tone.MUTED, path=path)
    label = f"{KIND_MARKS.get(kind, '?')} {name}: {change}  [{severity}]"
    return DriftNode(label, SEVERITY_TONES.get(severity, Tone.WARNING), path=path)


def _group(parent: DriftNode, items: list[Mapping[str, object]]) -> None:
    for item in items:
        *branches, name = str(item.get("path")).split(".")
        node = parent
        for segment in branches:
            node = node.child(segment)
        node.children.append(_leaf(item, name))


def drift_tree(environment_id: str, result: Mapping[str, object] | None) -> DriftNode:
    """The whole tree for one environment; a single explanatory node when it has no drift check yet."""
    if result is None:
        return DriftNode(f"{environment_id}: no drift check yet", Tone.MUTED)
    raw_items = result.get("items")
    items = [i for i in raw_items if isinstance(i, Mapping)] if isinstance(raw_items, list) else []
    unapproved = [i for i in items if not isinstance(i.get("approval"), Mapping)]
    approved = [i for i in items if isinstance(i.get("approval"), Mapping)]
    tone = Tone.SUCCESS if not unapproved else SEVERITY_TONES.get(str(result.get("worst")), Tone.WARNING)
    root = DriftNode(f"{environment_id}: {result.get('summary', '')}", tone)
    if unapproved:
        group = DriftNode(f"Unapproved ({len(unapproved)})", tone)
        _group(group, unapproved)
        root.children.append(group)
    if approved:
        group = DriftNode(f"Approved ({len(approved)})", Tone.MUTED, expanded=False)
        _group(group, approved)
        root.children.append(group)
    for key, title in (("expired_approvals", "Expired approvals"), ("stale_approvals", "Stale approvals")):
        approvals = result.get(key)
        if isinstance(approvals, list) and approvals:
            group = DriftNode(f"{title} ({len(approvals)})", Tone.WARNING, expanded=False)
            for approval in approvals:
                if isinstance(approval, Mapping):
                    group.children.append(
                        DriftNode(f"{approval.get('pattern')} — {approval.get('reason')}", Tone.MUTED)
                    )
            root.children.append(group)
    if not items:
        root.children.append(DriftNode("identical to production", Tone.SUCCESS))
    return root
