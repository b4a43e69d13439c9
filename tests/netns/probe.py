"""probe.py LIMIT TARGET...: connects to every target at once (so N blocked ports cost one timeout, not N) and prints
one line each: ADDR PORT RESULT SECONDS BANNER, RESULT one of banner, silent, timeout, refused, reset, error:WHAT.

A TARGET is ADDR,PORT or ADDR,PORT,SOURCE (the connection is made from SOURCE, an address of this namespace).
LIMIT bounds the connect and the wait for the first bytes, in seconds.
"""
import socket
import sys
import threading
import time


def probe(limit, addr, port, source):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(limit)
    t0 = time.monotonic()
    data = b""
    try:
        if source:
            s.bind((source, 0))
        s.connect((addr, port))
        try:
            data = s.recv(256)
            res = "banner" if data else "silent"
        except socket.timeout:
            res = "silent"
        except ConnectionResetError:
            res = "reset"
    except socket.timeout:
        res = "timeout"
    except ConnectionRefusedError:
        res = "refused"
    except OSError as e:
        res = "error:" + (e.strerror or str(e)).replace(" ", "_")
    finally:
        s.close()
    text = data.decode(errors="replace").strip().replace(" ", "_") or "-"
    return "%s %d %s %.3f %s" % (addr, port, res, time.monotonic() - t0, text)


def main():
    limit = float(sys.argv[1])
    targets = []
    for arg in sys.argv[2:]:
        parts = arg.split(",")
        targets.append((parts[0], int(parts[1]), parts[2] if len(parts) > 2 else None))
    lines = [None] * len(targets)

    def run(i, target):
        lines[i] = probe(limit, *target)

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("\n".join(lines))


main()
