#!/usr/bin/python3
"""One worker process of the guide's fleet: an asyncpg pool of
DB_POOL_MIN..DB_POOL_MAX connections (application_name = the worker's
application) and a load that follows a plan, phase after phase.

Usage: pool_worker.py --plan JSON [--start-at UNIX_SECONDS]
The connection comes from the guide's variables: DB_HOST, DB_PORT, DB_USER,
DB_NAME (DB_PASSWORD when set), DB_POOL_MIN, DB_POOL_MAX, DB_MAX_IDLE_TIME,
and the application name from PGAPPNAME.

A use of the pool that fails (the server refused the connection: "too many
clients", "the database system is starting up"; or the connection broke) is
counted and tried again after ERROR_PAUSE seconds, as a worker's next
request would; the worker does not stop.

The plan is a JSON list of phases, run in order, each lasting "seconds":
  {"seconds": 5, "busy": 3, "hold": 0.2}
      3 tasks loop: take a connection from the pool, run
      SELECT pg_sleep(hold), give it back. More tasks than DB_POOL_MAX wait
      for the pool, as workers do when it is exhausted.
  {"seconds": 5, "busy": 3, "hold": 0.2, "transaction": true}
      the same, but each task holds its connection idle in transaction
      (BEGIN; SELECT 1; the client sleeps hold; COMMIT).
  {"seconds": 5, "burst": 4, "hold": 1.5}
      at the phase's start, 4 tasks each take a connection once and run
      SELECT pg_sleep(hold); the pool is left alone for the rest.
  {"seconds": 8, "busy": 1, "hold": 0.3, "burst": 3, "burst_hold": 1.2}
      both: the busy loop for the whole phase, and a burst at its start
      (burst_hold, default hold, for the burst's tasks).
  {"seconds": 5}
      nothing: the pool keeps what it holds (DB_POOL_MIN at least).
Replicas started with the same --start-at run their phases in lockstep.
Each phase's start is printed on stdout as a JSON line
{"phase": i, "start": unix_seconds}, and {"done": true, "waits": N,
"max_wait_seconds": S, "errors": {kind: count}} at the end (N: acquisitions
that waited for the pool longer than 10 ms; errors by exception class).
"""
import argparse
import asyncio
import json
import os
import sys
import time

import asyncpg  # Debian: python3-asyncpg


# A failed use of the pool is tried again after this pause.
ERROR_PAUSE = 0.2
# What a refused or broken connection raises.
CONNECTION_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError,
                     asyncio.TimeoutError)


class Stats:
    def __init__(self):
        self.waits = 0
        self.max_wait = 0.0
        self.errors = {}

    def error(self, e):
        kind = type(e).__name__
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def record(self, waited):
        if waited > 0.01:
            self.waits += 1
        self.max_wait = max(self.max_wait, waited)


async def use_once(pool, hold, transaction, stats):
    t0 = time.monotonic()
    try:
        async with pool.acquire() as conn:
            stats.record(time.monotonic() - t0)
            if transaction:
                async with conn.transaction():
                    await conn.execute("SELECT 1")
                    await asyncio.sleep(hold)
            else:
                # No parameters: the simple query protocol, which PgBouncer
                # passes in every pool_mode (no prepared statement).
                await conn.execute(f"SELECT pg_sleep({hold:.3f})")
    except CONNECTION_ERRORS as e:
        stats.error(e)
        await asyncio.sleep(ERROR_PAUSE)


async def loop_until(deadline, pool, hold, transaction, stats):
    while time.time() < deadline:
        await use_once(pool, hold, transaction, stats)


async def run_phase(pool, phase, deadline, stats):
    hold = float(phase.get("hold", 0.1))
    transaction = bool(phase.get("transaction", False))
    tasks = []
    if "busy" in phase:
        tasks = [asyncio.create_task(
            loop_until(deadline, pool, hold, transaction, stats))
            for _ in range(int(phase["busy"]))]
    if "burst" in phase:
        burst_hold = float(phase.get("burst_hold", hold))
        tasks += [asyncio.create_task(
            use_once(pool, burst_hold, transaction, stats))
            for _ in range(int(phase["burst"]))]
    if tasks:
        await asyncio.gather(*tasks)
    remaining = deadline - time.time()
    if remaining > 0:
        await asyncio.sleep(remaining)


async def main(args):
    plan = json.loads(args.plan)
    env = os.environ
    pool = await asyncpg.create_pool(
        host=env.get("DB_HOST", "127.0.0.1"), port=int(env.get("DB_PORT", "5432")),
        user=env.get("DB_USER", "postgres"), database=env.get("DB_NAME", "postgres"),
        password=env.get("DB_PASSWORD") or None,
        min_size=int(env.get("DB_POOL_MIN", "2")),
        max_size=int(env.get("DB_POOL_MAX", "10")),
        max_inactive_connection_lifetime=float(env.get("DB_MAX_IDLE_TIME", "300")),
        server_settings={"application_name": env.get("PGAPPNAME", "pool-worker")})
    stats = Stats()
    try:
        start = args.start_at if args.start_at else time.time()
        if start > time.time():
            await asyncio.sleep(start - time.time())
        for i, phase in enumerate(plan):
            print(json.dumps({"phase": i, "start": time.time()}), flush=True)
            start += float(phase["seconds"])
            await run_phase(pool, phase, start, stats)
    finally:
        await pool.close()
    print(json.dumps({"done": True, "waits": stats.waits,
                      "max_wait_seconds": round(stats.max_wait, 3),
                      "errors": stats.errors}), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", required=True)
    parser.add_argument("--start-at", type=float, default=0.0)
    try:
        asyncio.run(main(parser.parse_args()))
    except KeyboardInterrupt:
        sys.exit(130)
