"""Many notes from one process, back to back, through the service API the CLI's `note add` uses.

tests/integration/test_concurrency.py runs several at once next to CLIs and the TUI: one `note add` process
per note spreads the writes out over its start-up time, these put them close together. Run as
`python -m tests.integration.note_writer CONFIG PREFIX COUNT` from the repository root; prints the notes
written as JSON (title, body, id), one note per line, as each is stored.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from stagetui.config import load_config
from stagetui.service.api import StagetuiService


def main(config: Path, prefix: str, count: int) -> int:
    service = StagetuiService.open(load_config(config))
    for i in range(count):
        title = f"{prefix} {i}"
        body = f"{title}: one of a burst\n"
        note = service.add_note(title, body)
        print(json.dumps({"title": title, "body": body, "id": note.id}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
