"""Ctrl-C during a run: the first ends the tests, the second aborts the cleanup, later ones wait.

The first Ctrl-C ends the tests (pytest, or the replay loop, sees a KeyboardInterrupt, as without
this module). Presses that follow while pytest is still unwinding are counted, not raised: a
KeyboardInterrupt inside pytest's own handling of the first one loses its "interrupted" status (the
report would say PASS) and ends in a traceback. The run then deletes what it created; a Ctrl-C
during that cleanup, or one pressed before it started, aborts it (the run prints the `scimitar
cleanup` line that finishes the job). Presses while the reports are written are counted and
ignored: a half-written report says nothing. The process exits 130 either way.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any

RUN, CLEANUP, SOFT = "run", "cleanup", "soft"


class CtrlCGuard:
    """The SIGINT handler of one run, with its phase: `run`, `cleanup` or `soft` (see module doc).

    Installed only in the main thread (signal handlers cannot be set elsewhere); `restore` puts the
    previous handler back.
    """

    def __init__(self, phase: str = RUN) -> None:
        self.phase = phase
        self.presses = 0
        self._previous: Any = None
        self._installed = False
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.signal(signal.SIGINT, self._handle)
                self._installed = True
            except (ValueError, OSError):
                pass

    @property
    def interrupted(self) -> bool:
        return self.presses > 0

    def _handle(self, signum: int, frame: Any) -> None:
        self.presses += 1
        if self.phase == CLEANUP or (self.phase == RUN and self.presses == 1):
            raise KeyboardInterrupt

    def enter_cleanup(self) -> bool:
        """Start the cleanup phase; False when a second Ctrl-C already asked to skip it."""
        if self.presses >= 2:
            self.phase = SOFT
            return False
        self.phase = CLEANUP
        return True

    def soften(self) -> None:
        self.phase = SOFT

    def restore(self) -> None:
        if self._installed:
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(signal.SIGINT, self._previous)
            self._installed = False
