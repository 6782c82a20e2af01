"""RQ's scheduler as a thread of the worker process, never a forked child.

RQ forks its scheduler from the worker. The child inherits the worker's open database
sockets, and when the worker is SIGKILLed the child lives on as an orphan holding them:
a transaction the worker had open (a sweep, say) then never ends, its row locks block
every other worker, and the dead worker's send is never finished. As a thread, the
scheduler dies with the worker and shares nothing it should not.
"""

from __future__ import annotations

import threading

from rq.scheduler import RQScheduler, run


class ThreadScheduler(RQScheduler):
    """RQ's scheduler loop (locks, heartbeat, moving due jobs) in a daemon thread."""

    def _install_signal_handlers(self) -> None:
        """Signals belong to the worker's main thread, which stops this one."""

    def start(self) -> threading.Thread:  # type: ignore[override]
        """Run the scheduler loop in a thread of this process."""
        self._status = self.Status.STARTED
        self._stop_requested = False
        thread = threading.Thread(target=run, args=(self,), name="rq-scheduler", daemon=True)
        self._process = thread  # type: ignore[assignment] - RQ only asks is_alive()
        thread.start()
        return thread

    def stop_thread(self, timeout: float = 5.0) -> None:
        """Ask the loop to stop (it releases its locks) and wait for it a moment."""
        self.request_stop()
        if self._process is not None:
            self._process.join(timeout)
