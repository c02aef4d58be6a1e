#!/usr/bin/python3
"""Holds N idle client connections to a PostgreSQL server for bench/poll_cost.sh.

  hold_connections.py PORT N

Prints "open N" once every connection is up, then reads commands on stdin:
"names K" renames the sessions worker-0 .. worker-(K-1) (SET
application_name on each, round robin) and answers "names K". Not a test.
"""
import asyncio
import sys

import asyncpg


async def main(port: int, n: int) -> None:
    async def connect(i: int):
        return await asyncpg.connect(
            host="127.0.0.1", port=port, user="postgres", database="postgres",
            server_settings={"application_name": f"worker-{i % 10}"})

    # In batches of 32 at a time: 5,000 one after the other took 15 minutes
    # on a loaded machine.
    conns = []
    for start in range(0, n, 32):
        conns += await asyncio.gather(
            *(connect(i) for i in range(start, min(start + 32, n))))
    print(f"open {len(conns)}", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        words = line.split()
        if len(words) == 2 and words[0] == "names":
            k = int(words[1])
            for start in range(0, len(conns), 32):
                await asyncio.gather(*(
                    c.execute(f"SET application_name = 'worker-{i % k}'")
                    for i, c in enumerate(conns[start:start + 32], start)))
            print(f"names {k}", flush=True)
    for c in conns:
        await c.close()


asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
