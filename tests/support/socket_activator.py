"""A small stand-in for systemd-socket-activate, for the socket activation tests: binds the
sockets named on its command line (port 0 allowed, stream and datagram mixed), or takes ones it
inherited, then execs the command with them as systemd passes sockets: descriptors 3, 4, ... and
LISTEN_FDS, LISTEN_PID (its own PID, which exec keeps) and LISTEN_FDNAMES.

    socket_activator.py SOCKET... -- COMMAND ARG...

SOCKET: stream:HOST:PORT, dgram:HOST:PORT, stream:unix:PATH, dgram:unix:PATH, or fd:N (an
inherited socket, passed on as it is); named:NAME:SOCKET gives it NAME in LISTEN_FDNAMES (as
systemd's FileDescriptorName=) instead of socketN. Prints `activator listening on ADDR` on
stderr for each socket it bound, ADDR with the port actually bound.
"""

import os
import socket
import sys

SD_LISTEN_FDS_START = 3


def bind(spec):
    kind, address = spec.split(':', 1)
    if kind == 'fd':
        return int(address)
    type = socket.SOCK_STREAM if kind == 'stream' else socket.SOCK_DGRAM
    if address.startswith('unix:'):
        sock = socket.socket(socket.AF_UNIX, type)
        sock.bind(address[len('unix:'):])
        shown = address
    else:
        host, port = address.rsplit(':', 1)
        sock = socket.socket(socket.AF_INET, type)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, int(port)))
        shown = '%s:%d' % sock.getsockname()
    if type == socket.SOCK_STREAM:
        sock.listen(64)
    print('activator listening on ' + shown, file=sys.stderr, flush=True)
    return sock.detach()


def main():
    separator = sys.argv.index('--')
    specs, command = sys.argv[1:separator], sys.argv[separator + 1:]
    names = []
    for index, spec in enumerate(specs):
        if spec.startswith('named:'):
            name, specs[index] = spec[len('named:'):].split(':', 1)
            names.append(name)
        else:
            names.append(f'socket{index}')
    descriptors = [bind(spec) for spec in specs]
    # Moved out of the way first, so that placing one at 3, 4, ... never overwrites another.
    moved = [os.dup(fd) for fd in descriptors]
    for index, fd in enumerate(moved):
        os.dup2(fd, SD_LISTEN_FDS_START + index)
        # dup2 onto itself changes nothing, close-on-exec included: clear it explicitly.
        os.set_inheritable(SD_LISTEN_FDS_START + index, True)
    for fd in set(descriptors + moved) - set(range(SD_LISTEN_FDS_START,
                                                    SD_LISTEN_FDS_START + len(moved))):
        os.close(fd)
    os.environ.update(LISTEN_FDS=str(len(moved)), LISTEN_PID=str(os.getpid()),
                      LISTEN_FDNAMES=':'.join(names))
    os.execvp(command[0], command)


if __name__ == '__main__':
    main()
