#!/usr/bin/env python3
"""The asyncio reference (P1): the protocol as Python's asyncio serves it, the way its
documentation writes a server.

    asyncio_server.py [--timeout SECONDS] PORT      (binds 127.0.0.1:PORT; 0: the kernel picks one)

Each client gets `asyncio.wait_for(reader.read(1024), timeout)`; a silent one is closed when it
expires. Prints `listening on 127.0.0.1:PORT` on stderr once listening.
"""

import argparse
import asyncio
import resource
import sys

WELCOME = b'welcome to server!'
GO_OUT = b'please go out!'


async def serve(reader, writer, timeout):
    try:
        request = await asyncio.wait_for(reader.read(1024), timeout)
        writer.write(WELCOME if request == b'1' else GO_OUT)
    except (asyncio.TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--timeout', type=float, default=5.0)
    parser.add_argument('port', type=int)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    server = await asyncio.start_server(lambda r, w: serve(r, w, args.timeout), '127.0.0.1',
                                        args.port, backlog=4096, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    print(f'listening on 127.0.0.1:{port}', file=sys.stderr, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == '__main__':
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
