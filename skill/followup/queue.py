"""The check-in jobs' queue, in huey beside the conversation store: SQLite (a file beside the
state's), Redis (the same server, under the store's prefix) or memory (STATE_URL=memory:,
only the process that booked a job can run it).

huey keeps each job (a hashed conversation key and an id: no number) until its time, and a
consumer runs it then: threads inside `python -m skill run`, or `python -m skill worker`
processes beside the web server in production. Which worker runs a job does not matter:
skill.followup.checkins claims each check-in in the conversation store before sending it.
"""

from __future__ import annotations

from pathlib import Path

from huey import Huey, MemoryHuey, SqliteHuey
from huey.consumer import Consumer
from huey.storage import RedisStorage

from skill.config import Settings
from skill.stores import redis_url

NAME = "checkins"
POLL = 1.0  # seconds at most between a worker's looks at the queue when it is idle


def make_queue(settings: Settings) -> Huey:
    """The queue for the store STATE_URL names; huey keeps no results (there are none)."""
    url = settings.state_url
    if url.startswith("sqlite:///"):
        state = Path(url.removeprefix("sqlite:///"))
        state.parent.mkdir(parents=True, exist_ok=True)
        filename = str(state.with_name(f"{state.stem}-checkins.db"))
        return SqliteHuey(NAME, filename=filename, results=False)
    if url.startswith("redis://"):
        plain, prefix = redis_url(url)
        return Huey(
            NAME, results=False, storage_class=PrefixedRedisStorage, url=plain, prefix=prefix
        )
    return MemoryHuey(NAME, results=False)


class PrefixedRedisStorage(RedisStorage):
    """huey's Redis storage with its keys under the store's prefix too (huey.redis.checkins
    becomes <prefix>huey.redis.checkins), so services sharing a database stay apart."""

    KEYS = ("queue_key", "schedule_key", "result_key", "counter_key", "notify_prefix")

    def __init__(self, name: str, prefix: str = "", **kwargs):
        super().__init__(name, **kwargs)
        for attr in self.KEYS:
            setattr(self, attr, prefix + getattr(self, attr))


def shared(settings: Settings) -> bool:
    """Whether another process can run this process's jobs (not with STATE_URL=memory:)."""
    return not settings.state_url.startswith("memory:")


class InProcess(Consumer):
    """A consumer on threads inside the app's process: the app keeps its own signals (Ctrl-C
    stops the development server as before, and these daemon threads with it)."""

    def _set_signal_handlers(self):
        pass


def consumer(queue: Huey, workers: int = 1, *, in_process: bool = False) -> Consumer:
    """A consumer of thread workers that looks at the queue at least every POLL seconds."""
    kind = InProcess if in_process else Consumer
    return kind(
        queue,
        workers=workers,
        worker_type="thread",
        periodic=False,
        max_delay=POLL,
        check_worker_health=not in_process,
    )
