"""wire.py: scripted clients for the payload-check tests (tests/netns/payload/t_*.sh), run in the client namespace.
Every command is bounded in time and prints what came back, one line each, for the shell to assert on.

  dialog ADDR PORT WAIT GREETING [SEND UNTIL]...
      Connects, reads until a line matches the regular expression GREETING ("-" reads nothing), then for each pair
      sends SEND (CRLF added) and reads until a line matches UNTIL. Prints "greeting TEXT", then "reply TEXT" for
      each step, or "silent" when nothing matching came within WAIT seconds (the dialogue stops there), or "closed
      TEXT" when the server closed. Last, "retrans N": the segments TCP retransmitted (tcpi_total_retrans), read
      just before the socket is closed with an RST (SO_LINGER 0), so that no FIN or later retransmission follows:
      every transmission of a dropped segment is the first one or one of those N.
  burst ADDR PORT TEXT
      Connects, sends TEXT (CRLF added) in one segment and closes with an RST at once: the payload is sent exactly
      once, never retransmitted. Prints "sent".
  udp ADDR PORT WAIT HEX
      One datagram from a new socket (a new flow), then waits WAIT seconds for an answer: "reply HEX" or "silent".
  vn ADDR PORT WAIT
      A QUIC long-header datagram of the reserved version 0x1a2a3a4a, padded to 1200 bytes: a QUIC server answers
      with a Version Negotiation packet. Prints "vn VERSION..." (hex), or "silent".
  initial ADDR PORT WAIT
      A real QUIC version 1 Initial (RFC 9000, 9001): a TLS 1.3 ClientHello for h3 in a CRYPTO frame, protected
      with the keys derived from its destination connection ID, padded to 1200 bytes. Decrypts what the server
      answers with the server's Initial keys and prints "serverhello" when it holds a ServerHello, "close CODE" for
      a CONNECTION_CLOSE, "vn ..." or "silent".
  session ADDR PORT
      A TLS session (any certificate) that sends "one", reads the echo, prints "ready", waits for a line on standard
      input, then sends "two" and waits 2 s for its echo: prints "echo two" or "silent".
  echo CERT KEY PORT
      (In the host namespace.) A TLS server on PORT, both families, that echoes every line back.
  record PORT...
      (In the host namespace.) A UDP socket on each PORT, both families, that never answers: prints "ready", then
      "PORT LENGTH HEX" for every datagram that arrives (HEX: its first 8 bytes).
"""
import os
import re
import socket
import struct
import sys
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def rst_close(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def total_retrans(s):
    """tcpi_total_retrans, read at a moment when no retransmission is due within 50 ms, so that none can slip in
    between this read and the close that follows it. struct tcp_info: 8 bytes of u8 fields, then u32 fields:
    tcpi_rto (microseconds, backed off) at byte 8, tcpi_last_data_sent (milliseconds ago) at 44,
    tcpi_unacked at 24, tcpi_total_retrans at 100."""
    for _ in range(20):
        info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        rto, = struct.unpack_from("I", info, 8)
        unacked, = struct.unpack_from("I", info, 24)
        since, = struct.unpack_from("I", info, 44)
        due = rto / 1000 - since
        if not unacked or due > 50:
            return struct.unpack_from("I", info, 100)[0]
        time.sleep((max(due, 0) + 30) / 1000)
    sys.exit("wire.py: a retransmission is always due")


def read_until(s, buf, pattern, deadline):
    """Reads until a complete line matches pattern; returns (text, rest, state) with state ok, silent or closed."""
    rx = re.compile(pattern)
    while True:
        lines = buf.split(b"\r\n")
        for i, line in enumerate(lines[:-1]):
            if rx.search(line.decode(errors="replace")):
                text = b"\r\n".join(lines[:i + 1])
                return text.decode(errors="replace"), b"\r\n".join(lines[i + 1:]), "ok"
        left = deadline - time.monotonic()
        if left <= 0:
            return buf.decode(errors="replace"), b"", "silent"
        s.settimeout(left)
        try:
            data = s.recv(4096)
        except socket.timeout:
            return buf.decode(errors="replace"), b"", "silent"
        except ConnectionResetError:
            return buf.decode(errors="replace"), b"", "closed"
        if not data:
            return buf.decode(errors="replace"), b"", "closed"
        buf += data


def show(kind, text):
    text = text.replace("\r\n", " | ").strip()
    print(kind + (" " + text if text else ""), flush=True)


def dialog(addr, port, wait, greeting, steps):
    s = socket.create_connection((addr, port), timeout=wait)
    buf = b""
    ok = True
    if greeting != "-":
        text, buf, state = read_until(s, buf, greeting, time.monotonic() + wait)
        show("greeting" if state == "ok" else state, text)
        ok = state == "ok"
    for i in range(0, len(steps) - 1, 2):
        if not ok:
            break
        s.sendall(steps[i].encode() + b"\r\n")
        text, buf, state = read_until(s, buf, steps[i + 1], time.monotonic() + wait)
        show("reply" if state == "ok" else state, text)
        ok = state == "ok"
    print("retrans", total_retrans(s), flush=True)
    rst_close(s)


def burst(addr, port, text):
    s = socket.create_connection((addr, port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(text.encode() + b"\r\n")
    rst_close(s)
    print("sent", flush=True)


def datagram(addr, port, wait, payload):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.connect((addr, port))
    s.send(payload)
    s.settimeout(wait)
    try:
        return s.recv(65535)
    except (socket.timeout, ConnectionRefusedError):
        return None
    finally:
        s.close()


def versions_of_vn(data):
    """The versions a Version Negotiation packet lists (RFC 9000 17.2.1), or None if it is not one."""
    if len(data) < 7 or not data[0] & 0x80 or data[1:5] != b"\0\0\0\0":
        return None
    dcil = data[5]
    scil = data[6 + dcil]
    rest = data[7 + dcil + scil:]
    return ["%08x" % v for (v,) in struct.iter_unpack("!I", rest[:len(rest) // 4 * 4])]


# ---- QUIC version 1 Initial packets (RFC 9001 5.2 keys, 5.3 AEAD, 5.4 header protection)

INITIAL_SALT = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")


def hkdf_label(secret, label, length):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
    full = b"tls13 " + label
    info = struct.pack("!HB", length, len(full)) + full + b"\0"
    return HKDFExpand(hashes.SHA256(), length, info).derive(secret)


def initial_keys(dcid, server):
    import hmac
    import hashlib
    initial = hmac.new(INITIAL_SALT, dcid, hashlib.sha256).digest()
    secret = hkdf_label(initial, b"server in" if server else b"client in", 32)
    return hkdf_label(secret, b"quic key", 16), hkdf_label(secret, b"quic iv", 12), hkdf_label(secret, b"quic hp", 16)


def hp_mask(hp, sample):
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    return enc.update(sample) + enc.finalize()


def varint(v):
    if v < 0x40:
        return bytes([v])
    if v < 0x4000:
        return struct.pack("!H", v | 0x4000)
    return struct.pack("!I", v | 0x80000000)


def read_varint(b, i):
    n = 1 << (b[i] >> 6)
    v = b[i] & 0x3f
    for k in range(1, n):
        v = v << 8 | b[i + k]
    return v, i + n


def client_hello(scid):
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    pub = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def ext(kind, body):
        return struct.pack("!HH", kind, len(body)) + body

    def vec16(b):
        return struct.pack("!H", len(b)) + b

    # quic_transport_parameters: initial_source_connection_id (required), flow control limits, idle timeout
    params = b"".join(varint(k) + varint(len(v)) + v for k, v in [
        (0x0f, scid), (0x01, varint(30000)), (0x04, varint(1 << 20)), (0x05, varint(1 << 18)),
        (0x06, varint(1 << 18)), (0x07, varint(1 << 18)), (0x08, varint(100)), (0x09, varint(100))])
    exts = b"".join([
        ext(0x0000, vec16(b"\0" + vec16(b"host.test"))),             # server_name
        ext(0x000a, vec16(struct.pack("!H", 0x001d))),                # supported_groups: x25519
        ext(0x000d, vec16(struct.pack("!HHH", 0x0403, 0x0804, 0x0401))),  # signature_algorithms
        ext(0x0010, vec16(b"\x02h3")),                                # ALPN: h3
        ext(0x002b, b"\x02\x03\x04"),                                 # supported_versions: TLS 1.3
        ext(0x0033, vec16(struct.pack("!HH", 0x001d, 32) + pub)),     # key_share
        ext(0x0039, params),
    ])
    body = b"\x03\x03" + os.urandom(32) + b"\x00" + vec16(struct.pack("!HH", 0x1301, 0x1302)) + b"\x01\x00" + \
        vec16(exts)
    return b"\x01" + struct.pack("!I", len(body))[1:] + body


def protect_initial(dcid, scid, frames):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    key, iv, hp = initial_keys(dcid, server=False)
    pn = 0
    pn_len = 4
    # pad the datagram to 1200 bytes (RFC 9000 14.1): PADDING frames are zero bytes
    head_len = 1 + 4 + 1 + len(dcid) + 1 + len(scid) + 1 + 2 + pn_len
    frames += b"\0" * max(0, 1200 - head_len - len(frames) - 16)
    length = pn_len + len(frames) + 16
    header = bytes([0xc0 | (pn_len - 1)]) + struct.pack("!I", 1) + bytes([len(dcid)]) + dcid + \
        bytes([len(scid)]) + scid + b"\0" + struct.pack("!H", length | 0x4000) + struct.pack("!I", pn)
    nonce = bytes(a ^ b for a, b in zip(iv, pn.to_bytes(12, "big")))
    payload = AESGCM(key).encrypt(nonce, frames, header)
    pn_off = len(header) - pn_len
    mask = hp_mask(hp, payload[4 - pn_len:4 - pn_len + 16])
    first = bytes([header[0] ^ (mask[0] & 0x0f)])
    pn_bytes = bytes(a ^ b for a, b in zip(header[pn_off:], mask[1:1 + pn_len]))
    return first + header[1:pn_off] + pn_bytes + payload


def open_initial(data, odcid):
    """Decrypts the first (Initial) packet of a server's datagram; returns its frames or None."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    if len(data) < 7 or not data[0] & 0x80 or data[1:5] != b"\0\0\0\1" or (data[0] >> 4) & 3 != 0:
        return None
    key, iv, hp = initial_keys(odcid, server=True)
    i = 5
    i += 1 + data[i]                  # destination connection ID
    i += 1 + data[i]                  # source connection ID
    tlen, i = read_varint(data, i)    # token
    i += tlen
    length, i = read_varint(data, i)
    mask = hp_mask(hp, data[i + 4:i + 20])
    first = data[0] ^ (mask[0] & 0x0f)
    pn_len = (first & 3) + 1
    pn_bytes = bytes(a ^ b for a, b in zip(data[i:i + pn_len], mask[1:1 + pn_len]))
    header = bytes([first]) + data[1:i] + pn_bytes
    nonce = bytes(a ^ b for a, b in zip(iv, int.from_bytes(pn_bytes, "big").to_bytes(12, "big")))
    return AESGCM(key).decrypt(nonce, data[i + pn_len:i + length], header)


def initial(addr, port, wait):
    dcid, scid = os.urandom(8), os.urandom(8)
    ch = client_hello(scid)
    frames = b"\x06" + varint(0) + varint(len(ch)) + ch            # CRYPTO, offset 0
    reply = datagram(addr, port, wait, protect_initial(dcid, scid, frames))
    if reply is None:
        print("silent", flush=True)
        return
    vn = versions_of_vn(reply)
    if vn is not None:
        print("vn", " ".join(vn), flush=True)
        return
    frames = open_initial(reply, dcid)
    if frames is None:
        print("unknown", reply[:16].hex(), flush=True)
        return
    i = 0
    while i < len(frames):
        kind = frames[i]
        if kind == 0x00:                                             # PADDING
            i += 1
        elif kind in (0x02, 0x03):                                   # ACK
            i += 1
            _, i = read_varint(frames, i)
            _, i = read_varint(frames, i)
            n, i = read_varint(frames, i)
            _, i = read_varint(frames, i)
            for _ in range(2 * n):
                _, i = read_varint(frames, i)
            if kind == 0x03:
                for _ in range(3):
                    _, i = read_varint(frames, i)
        elif kind == 0x06:                                           # CRYPTO
            _, i = read_varint(frames, i + 1)
            n, i = read_varint(frames, i)
            print("serverhello" if frames[i] == 0x02 else "crypto %02x" % frames[i], flush=True)
            return
        elif kind in (0x1c, 0x1d):                                   # CONNECTION_CLOSE
            code, _ = read_varint(frames, i + 1)
            print("close %x" % code, flush=True)
            return
        else:
            print("frame %02x" % kind, flush=True)
            return
    print("no crypto", flush=True)


def record(ports):
    import selectors
    sel = selectors.DefaultSelector()
    for port in ports:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", port))
        sel.register(s, selectors.EVENT_READ, port)
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            data = key.fileobj.recv(65535)
            print(key.data, len(data), data[:8].hex(), flush=True)


def session(addr, port):
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(socket.create_connection((addr, port), timeout=5))
    s.sendall(b"one\n")
    print("echo", s.recv(64).decode().strip(), flush=True)
    print("ready", flush=True)
    sys.stdin.readline()
    s.sendall(b"two\n")
    s.settimeout(2)
    try:
        print("echo", s.recv(64).decode().strip(), flush=True)
    except socket.timeout:
        print("silent", flush=True)
    rst_close(s)


def echo(cert, key, port):
    import ssl
    import threading
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ls.bind(("::", port))
    ls.listen(16)

    def serve(c):
        try:
            with ctx.wrap_socket(c, server_side=True) as t:
                for line in t.makefile("rb"):
                    t.sendall(line)
        except (OSError, ssl.SSLError):
            pass
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def main(argv):
    cmd = argv[0]
    if cmd == "dialog":
        dialog(argv[1], int(argv[2]), float(argv[3]), argv[4], argv[5:])
    elif cmd == "burst":
        burst(argv[1], int(argv[2]), argv[3])
    elif cmd == "udp":
        r = datagram(argv[1], int(argv[2]), float(argv[3]), bytes.fromhex(argv[4]))
        print("silent" if r is None else "reply " + r.hex(), flush=True)
    elif cmd == "vn":
        probe = bytes([0xc0]) + struct.pack("!I", 0x1a2a3a4a) + b"\x08" + os.urandom(8) + b"\x08" + os.urandom(8)
        r = datagram(argv[1], int(argv[2]), float(argv[3]), probe + b"\0" * (1200 - len(probe)))
        vn = None if r is None else versions_of_vn(r)
        print("silent" if r is None else "vn " + " ".join(vn) if vn is not None else "reply " + r.hex(),
              flush=True)
    elif cmd == "session":
        session(argv[1], int(argv[2]))
    elif cmd == "echo":
        echo(argv[1], argv[2], int(argv[3]))
    elif cmd == "record":
        record([int(p) for p in argv[1:]])
    elif cmd == "initial":
        initial(argv[1], int(argv[2]), float(argv[3]))
    else:
        sys.exit("wire.py: unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv[1:])
