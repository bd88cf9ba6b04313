"""TCP side of the virtual Lumix: command and event connections on one port, told apart by their first packet."""
from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
import uuid
from collections.abc import Callable

from tether.camera.ids import DEFAULT_PTPIP_PORT
from tether.ptpip import datasets as ds
from tether.ptpip import packets as pk
from tether.ptpip.responder import VirtualLumix

log = logging.getLogger(__name__)

FRIENDLY_NAME = "DMC-GX8"


class _Session:
    """One host: a command connection and (once it arrives) its event connection."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.event_sock: socket.socket | None = None
        self.event_lock = threading.Lock()
        self.pending: list[bytes] = []

    def queue_event(self, code: int, params: tuple[int, ...]) -> None:
        self.pending.append(pk.event(code, 0, params))

    def flush_events(self) -> None:
        with self.event_lock:
            batch, self.pending = self.pending, []
            if self.event_sock is None or not batch:
                return
            try:
                self.event_sock.sendall(b"".join(batch))
            except OSError as exc:
                log.info("event connection lost: %s", exc)


class PtpIpServer:
    """Serve ``responder`` on (host, port) until ``stop()``; one host session at a time, like a camera."""

    def __init__(self, responder: VirtualLumix, host: str = "127.0.0.1", port: int = DEFAULT_PTPIP_PORT) -> None:
        self.responder = responder
        self.guid = uuid.uuid5(uuid.NAMESPACE_DNS, f"tether-virtual-lumix-{responder.serial}").bytes
        self._listener = socket.create_server((host, port), reuse_port=False)
        self.host, self.port = self._listener.getsockname()[:2]
        self._sessions: dict[int, _Session] = {}
        self._next_session = 1
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: set[socket.socket] = set()
        #: Called with each handled opcode (tests use it to observe traffic).
        self.on_operation: Callable[[int], None] | None = None

    @property
    def camera_id(self) -> str:
        """The tether/libgphoto2 id of this camera; the event port (this one too) is named when it is not the
        default, which libgphoto2 would assume."""
        base = f"ptpip:{self.host}:{self.port}"
        return base if self.port == DEFAULT_PTPIP_PORT else f"{base}:{self.port}"

    def start(self) -> PtpIpServer:
        thread = threading.Thread(target=self.serve_forever, name="ptpip-accept", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def serve_forever(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                break
            pk.tune(conn)
            self._sockets.add(conn)
            thread = threading.Thread(target=self._serve_connection, args=(conn,), name="ptpip-conn", daemon=True)
            thread.start()

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close alone does not
        self._listener.close()
        for sock in list(self._sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def __enter__(self) -> PtpIpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve_connection(self, conn: socket.socket) -> None:
        try:
            first = pk.read_packet(conn)
            if first.kind == pk.INIT_COMMAND_REQUEST:
                self._command_loop(conn)
            elif first.kind == pk.INIT_EVENT_REQUEST:
                self._attach_events(conn, first.payload)
            else:
                conn.sendall(pk.pack(pk.INIT_FAIL, struct.pack("<I", 1)))
        except (ConnectionError, OSError, pk.ProtocolError) as exc:
            log.debug("connection ended: %s", exc)
        finally:
            self._sockets.discard(conn)
            conn.close()

    def _attach_events(self, conn: socket.socket, payload: bytes) -> None:
        (number,) = struct.unpack_from("<I", payload) if len(payload) >= 4 else (0,)
        with self._lock:
            session = self._sessions.get(number)
        if session is None:
            conn.sendall(pk.pack(pk.INIT_FAIL, struct.pack("<I", 1)))
            return
        with session.event_lock:
            session.event_sock = conn
        conn.sendall(pk.pack(pk.INIT_EVENT_ACK))
        # The host never writes on this connection except pings; keep it open until it closes.
        while not self._stopped.is_set():
            packet = pk.read_packet(conn)
            if packet.kind == pk.PROBE_REQUEST:
                with session.event_lock:
                    conn.sendall(pk.pack(pk.PROBE_RESPONSE))

    def _finish(self, work: Callable[[], list[tuple[int, tuple[int, ...]]]], session: _Session) -> None:
        """Run work the camera does after answering (developing a still), then send its events."""
        try:
            events = work()
        except Exception:  # the host sees no event and times out, as with a real body that failed
            log.exception("virtual Lumix: deferred work failed")
            return
        for code, params in events:
            session.queue_event(code, params)
        session.flush_events()

    def _command_loop(self, conn: socket.socket) -> None:
        with self._lock:
            number = self._next_session
            self._next_session += 1
            session = _Session(number)
            self._sessions[number] = session
        conn.sendall(pk.pack(
            pk.INIT_COMMAND_ACK,
            struct.pack("<I", number) + self.guid + pk.ucs2z(FRIENDLY_NAME) + struct.pack("<I", pk.PROTOCOL_VERSION),
        ))
        responder = self.responder
        try:
            while not self._stopped.is_set():
                packet = pk.read_packet(conn)
                if packet.kind == pk.PROBE_REQUEST:
                    conn.sendall(pk.pack(pk.PROBE_RESPONSE))
                    continue
                if packet.kind != pk.OPERATION_REQUEST:
                    raise pk.ProtocolError(f"unexpected packet type {packet.kind} on the command connection")
                request = pk.parse_operation_request(packet.payload)
                data = b""
                if request.dataphase == pk.DATAPHASE_HOST_SENDS:
                    data = pk.read_host_data(conn, request.transaction)
                reply = responder.handle(request.code, request.params, data, number)
                out = b""
                if reply.data is not None and reply.code == ds.RC_OK and responder.sends_data(request.code):
                    out = pk.data_phase(request.transaction, reply.data)
                conn.sendall(out + pk.operation_response(reply.code, request.transaction, reply.params))
                for code, params in reply.events:
                    session.queue_event(code, params)
                session.flush_events()
                if reply.later is not None:
                    threading.Thread(target=self._finish, args=(reply.later, session), daemon=True).start()
                if self.on_operation:
                    self.on_operation(request.code)
        finally:
            # A host that vanished leaves the camera ready for the next one, as a real body does.
            with self._lock:
                self._sessions.pop(number, None)
            responder.host_gone(number)
