"""The engine loop: one background thread with its own asyncio loop where all provisioning runs.

The UI's event loop only draws and reacts. Provisioning (the orchestrator, its store writes, its worker
threads) lives here, so 20 environments provisioning at once never delay a keypress. Service events are
emitted on this thread; the app turns them into messages (post_message is thread-safe).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class EngineLoop:
    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="stagetui-engine", daemon=True)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run `coroutine` on the engine loop; the future resolves with its result or exception."""
        result: concurrent.futures.Future[T] = concurrent.futures.Future()

        def start() -> None:
            task = self._loop.create_task(coroutine)
            self._tasks.add(task)

            def done(finished: asyncio.Task[T]) -> None:
                self._tasks.discard(finished)
                if finished.cancelled():
                    result.cancel()
                elif (error := finished.exception()) is not None:
                    result.set_exception(error)
                else:
                    result.set_result(finished.result())

            task.add_done_callback(done)

        result.set_running_or_notify_cancel()
        self._loop.call_soon_threadsafe(start)
        return result

    @property
    def busy(self) -> int:
        return len(self._tasks)

    def shutdown(self, timeout: float = 60.0) -> None:
        """Cancel what runs (each run rolls back what it created), wait for that, stop the loop."""

        async def cancel_all() -> None:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self._loop.is_running():
            future = asyncio.run_coroutine_threadsafe(cancel_all(), self._loop)
            try:
                future.result(timeout)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(timeout)
