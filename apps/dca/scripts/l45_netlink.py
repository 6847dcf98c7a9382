#!/usr/bin/env python3
"""Netlink helper of the DCA's Linux driver (apps/dca/src/driver/netlink-transport.ts).

Node has no netlink sockets, so the DCA spawns this once and speaks to it over stdin/stdout.
It opens a raw netlink socket of the Layer 4.5 core's protocol (25) and relays requests:

  stdin   request frame : u32 big-endian length, then that many bytes (the netlink payload)
  stdout  answer frame  : 1 byte kind, u32 big-endian length, then that many bytes
            kind b"R"   ready: the socket is open and bound (payload: our netlink port id)
            kind b"A"   answer: the payload of the kernel's netlink message, as received
            kind b"E"   error: UTF-8 text (socket could not be opened, timeout, NLMSG_ERROR)

If the socket cannot be opened it sends one "E" frame and exits with status 3. It exits 0 when
stdin closes. One request at a time: the DCA waits for each answer before sending the next.
Python 3 standard library only (Debian's python3-minimal is enough).
"""
import argparse
import errno
import os
import socket
import struct
import sys

NLMSG_HDR = struct.Struct("=IHHII")  # nlmsg_len, nlmsg_type, nlmsg_flags, nlmsg_seq, nlmsg_pid
NLMSG_ERROR = 2
MAX_REQUEST = 64 * 1024


def write_frame(out, kind, payload):
    out.write(kind + struct.pack(">I", len(payload)) + payload)
    out.flush()


def read_exact(inp, n):
    buf = b""
    while len(buf) < n:
        chunk = inp.read(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def drain(sock):
    """Drops answers that arrived after an earlier request timed out, so they never answer this one."""
    sock.setblocking(False)
    try:
        while True:
            sock.recv(1 << 20)
    except (BlockingIOError, InterruptedError):
        pass
    except OSError:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--protocol", type=int, default=25)
    ap.add_argument("--timeout-ms", type=int, default=5000)
    ap.add_argument("--max-answer", type=int, default=1 << 20)
    args = ap.parse_args()
    inp, out = sys.stdin.buffer, sys.stdout.buffer

    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, args.protocol)
        sock.bind((0, 0))  # the kernel assigns our port id
        port = sock.getsockname()[0]
    except OSError as e:
        write_frame(out, b"E", f"netlink protocol {args.protocol}: {e.strerror or e} (errno {e.errno})".encode())
        return 3
    write_frame(out, b"R", str(port).encode())

    seq = 0
    while True:
        head = read_exact(inp, 4)
        if head is None:
            return 0
        (n,) = struct.unpack(">I", head)
        if n > MAX_REQUEST:
            write_frame(out, b"E", f"request of {n} bytes is larger than {MAX_REQUEST}".encode())
            return 4
        payload = read_exact(inp, n)
        if payload is None:
            return 0
        seq = (seq + 1) & 0xFFFFFFFF
        drain(sock)
        sock.settimeout(args.timeout_ms / 1000.0)
        try:
            sock.sendto(NLMSG_HDR.pack(NLMSG_HDR.size + len(payload), 0, 0, seq, port) + payload, (0, 0))
            data = sock.recv(args.max_answer)
        except socket.timeout:
            write_frame(out, b"E", f"no answer from the kernel within {args.timeout_ms} ms".encode())
            continue
        except OSError as e:
            write_frame(out, b"E", f"netlink: {e.strerror or e} (errno {e.errno})".encode())
            continue
        if len(data) < NLMSG_HDR.size:
            write_frame(out, b"E", f"netlink message of {len(data)} bytes is shorter than its header".encode())
            continue
        length, kind, _flags, _seq, _pid = NLMSG_HDR.unpack_from(data)
        if kind == NLMSG_ERROR:
            code = -struct.unpack_from("=i", data, NLMSG_HDR.size)[0] if len(data) >= NLMSG_HDR.size + 4 else 0
            name = errno.errorcode.get(code, str(code))
            write_frame(out, b"E", f"the kernel answered NLMSG_ERROR {name}: {os.strerror(code)}".encode())
            continue
        end = length if NLMSG_HDR.size <= length <= len(data) else len(data)
        write_frame(out, b"A", data[NLMSG_HDR.size:end])


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
    except BrokenPipeError:
        sys.exit(0)
