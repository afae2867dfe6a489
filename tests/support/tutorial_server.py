# The tutorial's server.py, ported to Python 3 and kept as close to it as Python 3 allows
# (bytes b'1', print()). The tutorial's original is Python 2; docs/requirements.md restates it.
#
#   python3 tutorial_server.py [PORT [TIMEOUT_SECONDS [HOST]]]   (the tutorial's: 8001, 5, localhost)
#
# The only changes, all for tests (the argument order is the C++ example's, tutorial-server):
# - port, timeout and host may come from the command line; port 0 lets the kernel pick one;
# - SO_REUSEADDR, so a restarted server can bind at once after its last connection (TIME_WAIT);
# - after listen() it prints `listening on 127.0.0.1:PORT` on stderr, so a test knows it is
#   ready (and which port it got) without sleeping;
# - prints are flushed, because stdout is a pipe and a test waits for `time out` on it.
# It serves one client at a time, for ever, as the tutorial's does; stop it with a signal.
if __name__ == '__main__':
    import socket
    import sys
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8001
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 5
    host = sys.argv[3] if len(sys.argv) > 3 else 'localhost'
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(5)
    print('listening on %s:%d' % sock.getsockname(), file=sys.stderr, flush=True)
    while True:
        connection,address = sock.accept()
        try:
            connection.settimeout(timeout)
            buf = connection.recv(1024)
            if buf == b'1':
                connection.send(b'welcome to server!')
            else:
                connection.send(b'please go out!')
        except socket.timeout:
            print('time out', flush=True)
        connection.close()
