"""audit-servers.py CERT KEY SPEC...: small servers for the audit test, each SPEC "KIND:PORT[:ADDR]".

The TLS in every one of them is Python's ssl module, that is OpenSSL: a real handshake. KIND is one of
  nntp, xmpp-client, xmpp-server, postgresql   the protocol's dialogue up to STARTTLS, then a TLS handshake
  nntp-plain                                    NNTP that offers no STARTTLS and AUTHINFO USER before it
  tls                                           TLS from the first byte
  http                                          a plaintext HTTP server (where TLS belongs)
  silent                                        accepts and never says anything
  slow                                          accepts and sends one byte a second
  udp-silent                                    a bound UDP socket that never answers
ADDR defaults to "::" (dual stack). Prints "ready" once every socket listens.
"""
import asyncio
import socket
import ssl
import sys

cert, key = sys.argv[1], sys.argv[2]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)


async def upgrade(reader, writer):
    await writer.start_tls(ctx)
    # a TLS client that got this far has seen the certificate; keep the session open until it leaves
    try:
        await reader.read(1)
    except (ConnectionError, ssl.SSLError):
        pass


async def line(reader):
    return (await reader.readline()).decode(errors="replace").strip()


async def nntp(reader, writer, offer=True):
    writer.write(b"200 news.test ready\r\n")
    while True:
        cmd = (await line(reader)).upper()
        if cmd == "CAPABILITIES":
            caps = "VERSION 2\r\nREADER\r\n" + ("STARTTLS\r\n" if offer else "AUTHINFO USER\r\n")
            writer.write(("101 Capability list:\r\n" + caps + ".\r\n").encode())
        elif cmd == "STARTTLS" and offer:
            writer.write(b"382 Continue with TLS negotiation\r\n")
            await writer.drain()
            await upgrade(reader, writer)
            return
        elif cmd in ("", "QUIT"):
            return
        else:
            writer.write(b"500 What?\r\n")


async def xmpp(reader, writer, ns):
    data = b""
    while b">" not in data.split(b"<stream:stream", 1)[-1]:
        chunk = await reader.read(4096)
        if not chunk:
            return
        data += chunk
    writer.write(("<?xml version='1.0'?><stream:stream from='xmpp.test' id='1' version='1.0' xmlns='jabber:%s' "
                  "xmlns:stream='http://etherx.jabber.org/streams'><stream:features>"
                  "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
                  "</stream:features>" % ns).encode())
    data = b""
    while b"<starttls" not in data:
        chunk = await reader.read(4096)
        if not chunk:
            return
        data += chunk
    writer.write(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    await writer.drain()
    await upgrade(reader, writer)


async def postgresql(reader, writer):
    request = await reader.readexactly(8)
    if request != b"\x00\x00\x00\x08\x04\xd2\x16\x2f":
        return
    writer.write(b"S")
    await writer.drain()
    await upgrade(reader, writer)


async def tls(reader, writer):
    await upgrade(reader, writer)


async def http(reader, writer):
    await reader.readline()
    writer.write(b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\n\r\nnot here\r\n")


async def silent(reader, writer):
    await reader.read()


async def slow(reader, writer):
    for _ in range(120):
        writer.write(b"x")
        await writer.drain()
        await asyncio.sleep(1)


def handler(kind):
    table = {
        "nntp": nntp,
        "nntp-plain": lambda r, w: nntp(r, w, offer=False),
        "xmpp-client": lambda r, w: xmpp(r, w, "client"),
        "xmpp-server": lambda r, w: xmpp(r, w, "server"),
        "postgresql": postgresql,
        "tls": tls,
        "http": http,
        "silent": silent,
        "slow": slow,
    }
    body = table[kind]

    async def serve(reader, writer):
        try:
            await body(reader, writer)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()
    return serve


async def main(specs):
    keep = []
    for spec in specs:
        kind, port, *addr = spec.split(":", 2)
        addr = addr[0] if addr else "::"
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        if kind == "udp-silent":
            s = socket.socket(family, socket.SOCK_DGRAM)
            s.bind((addr, int(port)))
            keep.append(s)
            continue
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind((addr, int(port)))
        s.listen(64)
        keep.append(await asyncio.start_server(handler(kind), sock=s))
    print("ready", flush=True)
    await asyncio.Event().wait()


asyncio.run(main(sys.argv[3:]))
