"""Redis, for several service instances sharing the load: native expiry, per-conversation lock."""

from __future__ import annotations

import json
import os
import time

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from skill.stores import AUDIT_SECONDS, CALLBACK_SECONDS, DEDUPE_SECONDS, StoreUnavailable, dumps

LOCK_SECONDS = 10  # a Redis lock outlives no request: gunicorn kills a worker after 10 s
# A hung Redis costs a turn at most two of these (one a command); after one timed out, the
# process answers at once for QUIET_SECONDS, so that a queue of webhooks (36 on 2 workers x 4
# threads) is answered with the fallback well within Alexa's 8 s, not one timeout after another.
SOCKET_SECONDS = 1.0
QUIET_SECONDS = 1.0

# Deletes the lock only while it still holds this holder's token.
_UNLOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
# A delivery already answered (KEYS[3], unexpired by the caller's clock ARGV[3]) gives its
# stored result at once, without the lock. Otherwise takes the lock (KEYS[1]) unless another
# holder has it, and reads the conversation (KEYS[2]). A retried call (same token) after a
# dropped connection finds the lock its own.
_TAKE = """
local hit = ARGV[3] ~= '' and redis.call('get', KEYS[3])
if hit and cjson.decode(hit)['e'] > tonumber(ARGV[3]) then return {'', hit} end
local holder = redis.call('get', KEYS[1])
if holder and holder ~= ARGV[1] then return false end
redis.call('set', KEYS[1], ARGV[1], 'px', ARGV[2])
return {redis.call('get', KEYS[2]) or '', ''}
"""
# Writes a turn only while the lock still holds this holder's token, and releases it.
# KEYS: lock, conversation, its audit-run set, delivery id, audit record, call-back request,
#       its delivery-id set.
# ARGV: token, state ('' forgets the conversation, its audit records, its call-back and its
#       deliveries' kept results, all but this one's), state ms, result to keep ('' none), its
#       ms, audit record ('' none), its ms, run, audit key prefix.
_SAVE = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  for _, run in ipairs(redis.call('smembers', KEYS[3])) do redis.call('del', ARGV[9] .. run) end
  for _, seen in ipairs(redis.call('smembers', KEYS[7])) do redis.call('del', seen) end
  redis.call('del', KEYS[2], KEYS[3], KEYS[6], KEYS[7])
else
  redis.call('set', KEYS[2], ARGV[2], 'px', ARGV[3])
  if ARGV[6] ~= '' then
    redis.call('set', KEYS[5], ARGV[6], 'px', ARGV[7])
    redis.call('sadd', KEYS[3], ARGV[8])
    redis.call('pexpire', KEYS[3], ARGV[7])
  end
end
if ARGV[4] ~= '' then
  redis.call('set', KEYS[4], ARGV[4], 'px', ARGV[5])
  redis.call('sadd', KEYS[7], KEYS[4])
  redis.call('pexpire', KEYS[7], ARGV[5])
end
redis.call('del', KEYS[1])
return 1
"""

# Counts a hit in the window that ends at the hash's `expires` (the caller's clock), or starts
# a new window at one. ARGV: now, the new window's end, its length in ms (native expiry).
_HIT = """
local found = redis.call('hmget', KEYS[1], 'count', 'expires')
if found[1] and tonumber(found[2]) > tonumber(ARGV[1]) then
  return redis.call('hincrby', KEYS[1], 'count', 1)
end
redis.call('hset', KEYS[1], 'count', 1, 'expires', ARGV[2])
redis.call('pexpire', KEYS[1], ARGV[3])
return 1
"""

# Keeps a call-back request (ARGV[1], for ARGV[3] ms) unless one is open by the caller's clock
# (ARGV[2]); 1 when it was kept.
_ADD_CALLBACK = """
local found = redis.call('get', KEYS[1])
if found and cjson.decode(found)['e'] > tonumber(ARGV[2]) then return 0 end
redis.call('set', KEYS[1], ARGV[1], 'px', ARGV[3])
return 1
"""


class RedisStore:
    """Conversations as Redis strings with native expiry, shared by every service instance.

    A short per-conversation lock makes `change` run once per delivery (it renders a reply,
    which may have effects, such as alerting the clinic). Two round trips a turn, each one
    atomic script: take the lock and read; then write only if the lock is still this turn's
    (should it ever lapse, nothing is written and the turn starts again), releasing it in the
    same script. A delivery answered before costs one round trip and takes no lock.
    """

    def __init__(
        self,
        url: str,
        audit_seconds: float = AUDIT_SECONDS,
        prefix: str = "",
        callback_seconds: float = CALLBACK_SECONDS,
    ):
        self.audit_seconds, self.prefix = audit_seconds, prefix
        self.callback_seconds = callback_seconds
        # Fail fast when Redis is down or hung: the channel answers with its fallback instead.
        # A dropped connection is tried once more (Redis restarted); a timeout is not, since a
        # hung Redis would only time out again.
        self.redis = redis.Redis.from_url(
            url,
            socket_timeout=SOCKET_SECONDS,
            socket_connect_timeout=SOCKET_SECONDS / 2,
            retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), 1, (redis.ConnectionError,)),
        )
        self._quiet_until = 0.0  # monotonic time until which this process does not wait on Redis
        self._unlock = self.redis.register_script(_UNLOCK)
        self._take = self.redis.register_script(_TAKE)
        self._save = self.redis.register_script(_SAVE)
        self._hit = self.redis.register_script(_HIT)
        self._add_callback = self.redis.register_script(_ADD_CALLBACK)

    def _key(self, kind: str, *parts: str) -> str:
        return ":".join((f"{self.prefix}{kind}", *parts))

    def _acquire(self, lock, conv, seen, now) -> tuple[str, bytes, bytes]:
        """Take a conversation's lock, waiting briefly for another request to finish with it.

        Returns the token, what the conversation held ('' for nothing) and the delivery's
        stored result ('' for none: then the lock is this turn's).
        """
        token, deadline, pause = os.urandom(8).hex(), time.monotonic() + LOCK_SECONDS / 2, 0.001
        args = [token, LOCK_SECONDS * 1000, repr(now) if seen else ""]
        while True:
            found = self._run(self._take, [lock, conv, seen or conv], args)
            if found:
                return token, found[0], found[1]
            if time.monotonic() > deadline:
                raise StoreUnavailable("conversation stayed locked")
            # Only two messages of one person at once wait here: rare, so a short poll will do.
            time.sleep(pause)
            pause = min(pause * 2, 0.02)

    def transact(self, key, change, *, now, ttl, dedupe=None, audit=None):
        lock, conv = self._key("lock", key), self._key("conv", key)
        seen = self._key("dedupe", dedupe) if dedupe else ""
        self._not_quiet()
        try:
            while True:
                token, raw, hit = self._acquire(lock, conv, seen, now)
                if hit:
                    return json.loads(hit)["r"]
                try:
                    stored = json.loads(raw) if raw else None
                    new, result = change(stored["s"] if stored and stored["e"] > now else None)
                    if self._write(key, lock, token, new, result, now, ttl, seen, audit):
                        return result
                except BaseException:
                    self._unlock(keys=[lock], args=[token])
                    raise
                # The lock lapsed, so another turn may have written: nothing was, start again.
        except redis.RedisError as err:
            raise self._unavailable(err) from err

    def _not_quiet(self) -> None:
        """Raise at once while a timeout of this process's is recent (one clock read a turn)."""
        if time.monotonic() < self._quiet_until:
            raise StoreUnavailable("Redis: timed out within the last second")

    def _unavailable(self, err: redis.RedisError) -> StoreUnavailable:
        """The error to raise for a Redis fault; a timeout quietens the store for a while."""
        if isinstance(err, redis.TimeoutError):
            self._quiet_until = time.monotonic() + QUIET_SECONDS
        return StoreUnavailable(f"Redis {type(err).__name__}: {err}")

    def _write(self, key, lock, token, new, result, now, ttl, seen, audit) -> bool:
        """The new state (or its deletion with its audit records), its audit record and the
        delivery's result, in one script; False when the lock was no longer this turn's."""
        record = audit(new) if audit and new is not None else None
        kept = {"r": result, "e": now + DEDUPE_SECONDS}
        args = [
            token,
            dumps({"s": new, "e": now + ttl}) if new is not None else "",
            _ms(ttl),
            dumps(kept) if seen else "",
            _ms(DEDUPE_SECONDS),
            dumps({"r": record[1], "e": now + self.audit_seconds, "w": now}) if record else "",
            _ms(self.audit_seconds),
            record[0] if record else "",
            self._key("audit", key, ""),
        ]
        keys = [
            lock,
            self._key("conv", key),
            self._key("audits", key),
            seen or lock,
            self._key("audit", key, record[0] if record else ""),
            self._key("callback", key),
            self._key("deliveries", key),
        ]
        return bool(self._run(self._save, keys, args))

    def _run(self, script, keys: list, args: list):
        """Run a registered script by its hash: the turn's two calls skip the Script wrapper's
        own work (a quarter of a call's CPU); one the server lost (a restart, a failover) is
        loaded again by the wrapper."""
        try:
            return self.redis.evalsha(script.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            return script(keys=keys, args=args)

    def audits(self, key, now):
        try:
            runs = sorted(r.decode() for r in self.redis.smembers(self._key("audits", key)))
            if not runs:
                return []
            raws = self.redis.mget([self._key("audit", key, run) for run in runs])
        except redis.RedisError as err:
            raise self._unavailable(err) from err
        kept = [json.loads(raw) for raw in raws if raw]
        return [k["r"] for k in kept if k["e"] > now]

    def purge(self, now):
        """Redis expires keys on its own; this deletes the audit records written longer ago
        than AUDIT_DAYS says now (lowered since), and fails when Redis does not answer."""
        oldest, gone = now - self.audit_seconds, 0
        try:
            for keys in _batches(self.redis.scan_iter(match=self._key("audit", "*"), count=500)):
                kept = zip(keys, self.redis.mget(keys), strict=True)
                old = [k for k, raw in kept if raw and json.loads(raw).get("w", now) <= oldest]
                gone += self.redis.delete(*old) if old else 0
        except redis.RedisError as err:
            raise self._unavailable(err) from err
        return gone

    def all_audits(self, now):
        # Record keys are audit:<conversation>:<run>; the run sets are audits:<conversation>.
        return [kept["r"] for _, kept in self._scan(self._key("audit", "*")) if kept["e"] > now]

    def _scan(self, pattern: str) -> list[tuple[bytes, dict]]:
        """Every key matching the pattern, with its JSON value read, in no particular order."""
        try:
            keys = self.redis.scan_iter(match=pattern, count=500)
            found = [
                (key, raw)
                for batch in _batches(keys)
                for key, raw in zip(batch, self.redis.mget(batch), strict=True)
            ]
        except redis.RedisError as err:
            raise self._unavailable(err) from err
        return [(key, json.loads(raw)) for key, raw in found if raw]

    def put_user(self, name, record):
        self._redis_call(self.redis.hset, self._key("staff"), name, dumps(record))

    def user(self, name):
        raw = self._redis_call(self.redis.hget, self._key("staff"), name)
        return json.loads(raw) if raw else None

    def remove_user(self, name):
        return bool(self._redis_call(self.redis.hdel, self._key("staff"), name))

    def hit(self, key, now, window):
        args = [now, now + window, _ms(window)]
        return int(self._redis_call(self._hit, [self._key("hits", key)], args))

    def add_callback(self, key, record, now):
        kept = dumps({"r": record, "e": now + self.callback_seconds})
        args = [kept, now, _ms(self.callback_seconds)]
        return bool(self._redis_call(self._add_callback, [self._key("callback", key)], args))

    def callbacks(self, now):
        start = len(self._key("callback", ""))
        found = sorted(
            (kept["e"], name.decode()[start:], kept["r"])
            for name, kept in self._scan(self._key("callback", "*"))
            if kept["e"] > now
        )
        return [{**record, "key": key} for _, key, record in found]

    def close_callback(self, key):
        return bool(self._redis_call(self.redis.delete, self._key("callback", key)))

    def _redis_call(self, func, *args, **kwargs):
        self._not_quiet()
        try:
            return func(*args, **kwargs)
        except redis.RedisError as err:
            raise self._unavailable(err) from err

    def ping(self):
        """True when a write goes through (a read-only replica or a full Redis answers PING)."""
        try:
            return bool(self.redis.set(self._key("ready-probe"), "1", px=60_000))
        except redis.RedisError as err:
            self._unavailable(err)
            return False


def _batches(keys, size: int = 500):
    """Lists of up to `size` keys from an iterator of them."""
    batch = []
    for key in keys:
        batch.append(key)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
