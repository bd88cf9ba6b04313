"""PTP/IP framing (CIPA DC-005): every packet is [u32 length][u32 type][payload], little-endian.

Pure functions plus a blocking reader; the server decides what the packets mean.
"""
from __future__ import annotations

import contextlib
import socket
import struct
from dataclasses import dataclass

INIT_COMMAND_REQUEST = 1
INIT_COMMAND_ACK = 2
INIT_EVENT_REQUEST = 3
INIT_EVENT_ACK = 4
INIT_FAIL = 5
OPERATION_REQUEST = 6
OPERATION_RESPONSE = 7
EVENT = 8
START_DATA = 9
DATA = 10
CANCEL = 11
END_DATA = 12
PROBE_REQUEST = 13
PROBE_RESPONSE = 14

#: The data-phase field of an operation request: 2 means "the host sends data";
#: 1 means either "no data" or "the camera sends data", so the responder decides per opcode.
DATAPHASE_HOST_SENDS = 2

PROTOCOL_VERSION = 0x00010000
#: Refuse absurd lengths from a confused peer instead of allocating them.
MAX_PACKET = 256 * 1024 * 1024


class ProtocolError(Exception):
    """The peer sent something that is not PTP/IP."""


@dataclass(frozen=True)
class Packet:
    kind: int
    payload: bytes


@dataclass(frozen=True)
class OperationRequest:
    dataphase: int
    code: int
    transaction: int
    params: tuple[int, ...]


def pack(kind: int, payload: bytes = b"") -> bytes:
    """One framed packet."""
    return struct.pack("<II", 8 + len(payload), kind) + payload


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = []
    remaining = size
    while remaining:
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            raise ConnectionError("peer closed the connection")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_packet(sock: socket.socket) -> Packet:
    """Block until one whole packet has arrived."""
    length, kind = struct.unpack("<II", _recv_exact(sock, 8))
    if length < 8 or length > MAX_PACKET:
        raise ProtocolError(f"impossible PTP/IP packet length {length}")
    payload = _recv_exact(sock, length - 8) if length > 8 else b""
    quickack(sock)
    return Packet(kind, payload)


def quickack(sock: socket.socket) -> None:
    """Re-arm TCP_QUICKACK: Linux clears it after each ACK, and a delayed ACK stalls every data phase ~40 ms."""
    quick = getattr(socket, "TCP_QUICKACK", None)
    if quick is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, quick, 1)


def tune(sock: socket.socket) -> None:
    """Low-latency options for a command or event connection."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    quickack(sock)


def parse_operation_request(payload: bytes) -> OperationRequest:
    if len(payload) < 10 or (len(payload) - 10) % 4:
        raise ProtocolError(f"operation request of {len(payload)} bytes")
    dataphase, code, transaction = struct.unpack_from("<IHI", payload)
    count = (len(payload) - 10) // 4
    params = struct.unpack_from(f"<{count}I", payload, 10) if count else ()
    return OperationRequest(dataphase, code, transaction, tuple(params))


def operation_response(code: int, transaction: int, params: tuple[int, ...] = ()) -> bytes:
    return pack(OPERATION_RESPONSE, struct.pack(f"<HI{len(params)}I", code, transaction, *params))


def event(code: int, transaction: int, params: tuple[int, ...] = ()) -> bytes:
    return pack(EVENT, struct.pack(f"<HI{len(params)}I", code, transaction, *params))


def data_phase(transaction: int, data: bytes) -> bytes:
    """Start_Data + End_Data carrying ``data`` (sent even when empty: libgphoto2 expects both)."""
    start = pack(START_DATA, struct.pack("<IQ", transaction, len(data)))
    return start + pack(END_DATA, struct.pack("<I", transaction) + data)


def read_host_data(sock: socket.socket, transaction: int) -> bytes:
    """Collect a host-to-camera data phase: Start_Data, then Data/End_Data until the announced size.

    A zero-length phase is Start_Data alone (libgphoto2 sends no Data packet then).
    """
    start = read_packet(sock)
    if start.kind != START_DATA or len(start.payload) < 8:
        raise ProtocolError(f"expected Start_Data, got packet type {start.kind}")
    _, total = struct.unpack_from("<II", start.payload)
    if len(start.payload) >= 12:
        (total,) = struct.unpack_from("<Q", start.payload, 4)
    parts: list[bytes] = []
    received = 0
    while received < total:
        packet = read_packet(sock)
        if packet.kind not in (DATA, END_DATA):
            raise ProtocolError(f"expected Data/End_Data, got packet type {packet.kind}")
        body = packet.payload[4:]
        parts.append(body)
        received += len(body)
        if packet.kind == END_DATA:
            break
    return b"".join(parts)


def ucs2z(text: str) -> bytes:
    """A NUL-terminated UTF-16LE string, as the init packets carry names."""
    return (text + "\0").encode("utf-16-le")


def parse_ucs2z(data: bytes, offset: int) -> tuple[str, int]:
    """Read a NUL-terminated UTF-16LE string; returns (text, offset after the NUL)."""
    end = offset
    while end + 1 < len(data) and data[end:end + 2] != b"\0\0":
        end += 2
    return data[offset:end].decode("utf-16-le", errors="replace"), end + 2
