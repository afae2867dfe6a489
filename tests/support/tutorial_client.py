# The tutorial's client.py, ported to Python 3 and kept as close to it as Python 3 allows
# (bytes on the wire, print()). The tutorial's original is Python 2; docs/requirements.md
# restates it.
#
#   python3 tutorial_client.py [PORT [DELAY_SECONDS [MESSAGE]]]   (the tutorial's: 8001, 2, '1')
#
# The only change, for tests: port, delay and message may come from the command line (the
# argument order is the C++ example's, tutorial-client). print() is flushed so a test reading
# the pipe sees the reply even if the process is then killed.
if __name__ == '__main__':
    import socket
    import sys
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8001
    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 2
    message = sys.argv[3] if len(sys.argv) > 3 else '1'
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.connect(('localhost', port))
    import time
    time.sleep(delay)
    sock.send(message.encode())
    print(sock.recv(1024).decode(), flush=True)
    sock.close()
