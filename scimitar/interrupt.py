"""Ctrl-C while a run finishes: the second one aborts the cleanup, later ones wait for the reports.

The first Ctrl-C ends the tests (pytest or the replay loop catches it); the run then deletes what
it created and writes its reports. A second Ctrl-C during that cleanup aborts it (the run prints
the `scimitar cleanup` line that finishes the job); a third, fourth... while the reports are being
written is counted and ignored, because a KeyboardInterrupt raised inside pytest's teardown or a
half-written file ends in a traceback and a report that says nothing. The process still exits 130.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any


class CtrlCGuard:
    """SIGINT while a run finishes: first it raises (aborting the cleanup), once softened it is counted.

    Installed only in the main thread (signal handlers cannot be set elsewhere); `restore` puts the
    previous handler back once the last line is printed.
    """

    def __init__(self) -> None:
        self.soft = False
        self.presses = 0
        self._previous: Any = None
        self._installed = False
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.signal(signal.SIGINT, self._handle)
                self._installed = True
            except (ValueError, OSError):
                pass

    def _handle(self, signum: int, frame: Any) -> None:
        self.presses += 1
        if not self.soft:
            raise KeyboardInterrupt

    def soften(self) -> None:
        self.soft = True

    def restore(self) -> None:
        if self._installed:
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(signal.SIGINT, self._previous)
            self._installed = False
