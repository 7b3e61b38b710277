"""The selected environment's drift from production as a tree: unapproved first, approved folded away."""

from __future__ import annotations

from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from stagetui.ui.drift_model import DriftNode
from stagetui.ui.tones import toned


class DriftPanel(Tree[str | None]):
    def __init__(self, **kwargs: object) -> None:
        super().__init__("drift", **kwargs)  # type: ignore[arg-type]
        self.model: DriftNode | None = None
        self.show_root = True

    def on_mount(self) -> None:
        self.watch(self.app, "theme", lambda: self.show(self.model) if self.model else None, init=False)

    @property
    def selected_path(self) -> str | None:
        """The dotted key of the difference under the cursor, if the cursor is on one."""
        node = self.cursor_node
        return node.data if node is not None else None

    def show(self, model: DriftNode) -> None:
        self.model = model
        self.clear()
        self.root.set_label(toned(self.app, model.label, model.tone))
        self._add(self.root, model)
        self.root.expand()

    def _add(self, parent: TreeNode[str | None], model: DriftNode) -> None:
        for child in model.children:
            label = toned(self.app, child.label, child.tone)
            if child.children:
                node = parent.add(label, expand=child.expanded)
                self._add(node, child)
            else:
                parent.add_leaf(label, data=child.path)
