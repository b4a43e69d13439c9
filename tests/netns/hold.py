"""hold.py: both ends of connections that stay established, for the tests of the lockout guard.

  server ADDR,PORT...
      Listens on every ADDR,PORT ("::" is dual-stack: it takes IPv4 too, as ::ffff:a.b.c.d), accepts and holds
      every connection. Prints "listening" once every socket listens, then "accepted ADDR PORT" for each.
  client ADDR PORT SECONDS
      Connects (within 5 s), prints "connected ADDR PORT" (its own end), and holds the connection for SECONDS.
"""
import socket
import sys
import threading
import time


def server(specs):
    socks = []
    for spec in specs:
        addr, _, port = spec.rpartition(",")
        s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if ":" in addr:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind((addr, int(port)))
        s.listen(16)
        socks.append(s)
    print("listening", flush=True)
    held = []

    def serve(s):
        while True:
            c, a = s.accept()
            held.append(c)
            print("accepted %s %d" % (a[0], a[1]), flush=True)

    for s in socks:
        threading.Thread(target=serve, args=(s,), daemon=True).start()
    threading.Event().wait()


def client(addr, port, seconds):
    s = socket.create_connection((addr, port), timeout=5)
    print("connected %s %d" % s.getsockname()[:2], flush=True)
    time.sleep(seconds)


if sys.argv[1] == "server":
    server(sys.argv[2:])
elif sys.argv[1] == "client":
    client(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
else:
    sys.exit("usage: hold.py server ADDR,PORT... | client ADDR PORT SECONDS")
