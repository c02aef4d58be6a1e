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
    conns = []
    for i in range(n):
        conns.append(await asyncpg.connect(
            host="127.0.0.1", port=port, user="postgres", database="postgres",
            server_settings={"application_name": f"worker-{i % 10}"}))
    print(f"open {len(conns)}", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        words = line.split()
        if len(words) == 2 and words[0] == "names":
            k = int(words[1])
            for i, c in enumerate(conns):
                await c.execute(f"SET application_name = 'worker-{i % k}'")
            print(f"names {k}", flush=True)
    for c in conns:
        await c.close()


asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
