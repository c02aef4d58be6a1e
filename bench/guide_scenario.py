#!/usr/bin/python3
"""The pooling guide's scenario played with real asyncpg pools.

Phase "storm": WORKERS asyncpg pools of DB_POOL_MAX connections each, every
pool kept busy by more concurrent queries than it has connections, against a
server whose usable slots are fewer than WORKERS x DB_POOL_MAX. Every failed
connect is counted by SQLSTATE.

Phase "spikes": the pools shrink to a steady load, and every SPIKE_EVERY
seconds SPIKE connections are opened, held SPIKE_SECONDS, and closed.

Writes one JSON object (timestamps in Unix seconds) to stdout.
"""
import asyncio
import json
import os
import sys
import time

import asyncpg

DSN = os.environ["DSN"]
WORKERS = int(os.environ.get("WORKERS", "10"))
POOL_MAX = int(os.environ.get("DB_POOL_MAX", "10"))
STORM_SECONDS = float(os.environ.get("STORM_SECONDS", "60"))
SPIKES = int(os.environ.get("SPIKES", "6"))
SPIKE = int(os.environ.get("SPIKE", "50"))
SPIKE_SECONDS = float(os.environ.get("SPIKE_SECONDS", "2"))
# Longer than peak_window + the scrape interval, so that one spike's peak
# cannot be mistaken for the next one's.
SPIKE_EVERY = float(os.environ.get("SPIKE_EVERY", "38"))
SPIKE_PAUSE = float(os.environ.get("SPIKE_PAUSE", "25"))

failures = {}
first_failure = None


def count_failure(e):
    global first_failure
    code = getattr(e, "sqlstate", None) or type(e).__name__
    failures[code] = failures.get(code, 0) + 1
    if first_failure is None:
        first_failure = time.time()


async def busy(pool, stop_at):
    while time.time() < stop_at:
        try:
            async with pool.acquire() as conn:
                await conn.execute("SELECT pg_sleep(0.05)")
        except (asyncpg.PostgresError, OSError) as e:
            count_failure(e)
            await asyncio.sleep(0.05)


async def storm():
    pools = [
        await asyncpg.create_pool(DSN, min_size=1, max_size=POOL_MAX,
                                  server_settings={
                                      "application_name": f"worker-{i}"})
        for i in range(WORKERS)
    ]
    stop_at = time.time() + STORM_SECONDS
    await asyncio.gather(*(busy(p, stop_at) for p in pools
                           for _ in range(POOL_MAX * 2)))
    for p in pools:
        await p.close()


async def spikes():
    out = []
    await asyncio.sleep(SPIKE_PAUSE)  # the storm's peak leaves the window
    for _ in range(SPIKES):
        await asyncio.sleep(SPIKE_EVERY - SPIKE_SECONDS)
        start = time.time()
        conns = await asyncio.gather(
            *(asyncpg.connect(DSN, server_settings={"application_name": "spike"})
              for _ in range(SPIKE)),
            return_exceptions=True)
        held = [c for c in conns if not isinstance(c, BaseException)]
        await asyncio.sleep(max(0, SPIKE_SECONDS - (time.time() - start)))
        end = time.time()
        for c in held:
            await c.close()
        out.append({"start": start, "end": end, "opened": len(held)})
    return out


async def main():
    storm_start = time.time()
    await storm()
    storm_end = time.time()
    spike_log = await spikes()
    json.dump({"storm_start": storm_start, "storm_end": storm_end,
               "first_failure": first_failure, "client_failures": failures,
               "spikes": spike_log}, sys.stdout)


asyncio.run(main())
