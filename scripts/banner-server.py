"""banner-server.py TEXT PORT...: plaintext listeners for the demo and the reachability test.

One dual-stack socket per port (IPV6_V6ONLY off); each connection gets one line, "TEXT port N", and is closed, as
an FTP, POP3, IMAP or NNTP server greets a client: a client that gets in has bytes to read at once.
"""
import asyncio
import socket
import sys


async def main(text, ports):
    for port in ports:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", port))
        s.listen(64)

        async def greet(reader, writer, port=port):
            writer.write(b"%s port %d\r\n" % (text.encode(), port))
            await writer.drain()
            writer.close()

        await asyncio.start_server(greet, sock=s)
    await asyncio.Event().wait()


asyncio.run(main(sys.argv[1], [int(p) for p in sys.argv[2:]]))
