"""The few ZIP records a burst needs, written and parsed by hand so every byte's place is known.

Only what APPNOTE.TXT (PKWARE) specifies: local file headers without data descriptors (the size
and CRC are known before writing), central directory headers, the end-of-central-directory
record, and the ZIP64 forms once offsets or counts outgrow 32/16 bits.
"""
from __future__ import annotations

import struct
import time
import zlib
from dataclasses import dataclass

LOCAL_SIG = b"PK\x03\x04"
CENTRAL_SIG = b"PK\x01\x02"
EOCD_SIG = b"PK\x05\x06"
ZIP64_EOCD_SIG = b"PK\x06\x06"
ZIP64_LOCATOR_SIG = b"PK\x06\x07"

LOCAL = struct.Struct("<4sHHHHHIIIHH")            # 30 bytes
CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")    # 46 bytes
EOCD = struct.Struct("<4sHHHHIIH")                # 22 bytes
ZIP64_EOCD = struct.Struct("<4sQHHIIQQQQ")        # 56 bytes
ZIP64_LOCATOR = struct.Struct("<4sIQI")           # 20 bytes

STORED, DEFLATED = 0, 8
VERSION_NEEDED, VERSION_ZIP64 = 20, 45
MADE_BY = (3 << 8) | VERSION_ZIP64               # Unix, spec 4.5: external attributes are Unix modes
MAX32, MAX16 = 0xFFFFFFFF, 0xFFFF
#: Offsets at or above this go into ZIP64 extra fields (a module constant so tests can lower it).
ZIP64_LIMIT = MAX32


@dataclass
class Entry:
    """One archive member: where its local header is and what its data must look like."""

    name: str
    offset: int          # of the local file header
    size: int            # uncompressed
    crc: int
    method: int = STORED
    csize: int = -1      # compressed size; == size when stored
    dos_time: int = 0
    dos_date: int = 0
    data_offset: int = -1  # known after reading the local header (-1 until then)

    def __post_init__(self) -> None:
        if self.csize < 0:
            self.csize = self.size


def dos_datetime(epoch: float) -> tuple[int, int]:
    """``(time, date)`` in MS-DOS format for the local time of ``epoch`` (clamped to 1980..2107)."""
    t = time.localtime(epoch if epoch > 315532800 else 315532800)
    year = min(max(t.tm_year, 1980), 2107)
    return (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2), ((year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday


def local_header(name: bytes, size: int, crc: int, dos_time: int, dos_date: int) -> bytes:
    """The local file header of a stored entry whose size and CRC are known up front."""
    if size >= MAX32:
        raise ValueError("a single entry of 4 GiB or more is not supported")
    return LOCAL.pack(LOCAL_SIG, VERSION_NEEDED, 0, STORED, dos_time, dos_date, crc, size, size, len(name), 0) + name


def central_header(entry: Entry) -> bytes:
    """The central directory record of ``entry``, with a ZIP64 extra field for a far offset."""
    name = entry.name.encode("utf-8")
    extra, offset, needed = b"", entry.offset, VERSION_NEEDED
    if entry.offset >= ZIP64_LIMIT:
        extra, offset, needed = struct.pack("<HHQ", 0x0001, 8, entry.offset), MAX32, VERSION_ZIP64
    return CENTRAL.pack(
        CENTRAL_SIG, MADE_BY, needed, 0, entry.method, entry.dos_time, entry.dos_date, entry.crc,
        entry.csize, entry.size, len(name), len(extra), 0, 0, 0, (0o100644 << 16), offset,
    ) + name + extra


def end_records(count: int, cd_offset: int, cd_size: int) -> bytes:
    """The end-of-central-directory record, preceded by the ZIP64 ones when any value overflows."""
    tail = b""
    if count >= MAX16 or cd_offset >= ZIP64_LIMIT or cd_size >= ZIP64_LIMIT:
        z64_offset = cd_offset + cd_size
        tail = ZIP64_EOCD.pack(ZIP64_EOCD_SIG, ZIP64_EOCD.size - 12, MADE_BY, VERSION_ZIP64, 0, 0,
                               count, count, cd_size, cd_offset)
        tail += ZIP64_LOCATOR.pack(ZIP64_LOCATOR_SIG, 0, z64_offset, 1)
        return tail + EOCD.pack(EOCD_SIG, 0, 0, min(count, MAX16), min(count, MAX16),
                                min(cd_size, MAX32), MAX32, 0)
    return EOCD.pack(EOCD_SIG, 0, 0, count, count, cd_size, cd_offset, 0)


try:  # ISA-L computes CRC-32 with carry-less multiply, ~15x faster than zlib: it keeps appends I/O-bound
    from isal.isal_zlib import crc32 as _crc32
except ImportError:  # pragma: no cover - isal is a dependency, but the format does not need it
    _crc32 = zlib.crc32


def crc32(data: bytes | memoryview, value: int = 0) -> int:
    """The CRC-32 ZIP stores for ``data`` (continuing from ``value``)."""
    return _crc32(data, value) & MAX32


class ZipFormatError(ValueError):
    """A record is not where or what it should be (the message says which)."""


def parse_central_directory(buf: bytes, count: int) -> list[Entry]:
    """Parse ``count`` central directory records from ``buf``."""
    entries, pos = [], 0
    for i in range(count):
        if pos + CENTRAL.size > len(buf):
            raise ZipFormatError(f"central directory ends inside record {i + 1} of {count}")
        rec = CENTRAL.unpack_from(buf, pos)
        if rec[0] != CENTRAL_SIG:
            raise ZipFormatError(f"central directory record {i + 1} has a bad signature")
        flags, method, dtime, ddate, crc, csize, usize, nlen, xlen, clen = rec[3:13]
        offset = rec[16]
        end = pos + CENTRAL.size + nlen + xlen + clen
        if end > len(buf):
            raise ZipFormatError(f"central directory record {i + 1} runs past the directory")
        raw_name = buf[pos + CENTRAL.size:pos + CENTRAL.size + nlen]
        try:
            name = raw_name.decode("utf-8")
        except UnicodeDecodeError:
            name = raw_name.decode("cp437")
        extra = buf[pos + CENTRAL.size + nlen:pos + CENTRAL.size + nlen + xlen]
        usize, csize, offset = _zip64_values(extra, usize, csize, offset)
        if flags & 0x1:
            raise ZipFormatError(f"entry {name!r} is encrypted")
        entries.append(Entry(name, offset, usize, crc, method, csize, dtime, ddate))
        pos = end
    return entries


def _zip64_values(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    """Replace 0xFFFFFFFF placeholders by the values in the ZIP64 extended information field."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4:pos + 4 + length]
        if tag == 0x0001:
            vals, k = [], 0
            for placeholder in (usize, csize, offset):
                if placeholder == MAX32:
                    if k + 8 > len(body):
                        raise ZipFormatError("ZIP64 extra field is too short")
                    vals.append(struct.unpack_from("<Q", body, k)[0])
                    k += 8
                else:
                    vals.append(placeholder)
            return vals[0], vals[1], vals[2]
        pos += 4 + length
    return usize, csize, offset


def find_end(tail: bytes, tail_offset: int, file_size: int) -> tuple[int, int, int] | None:
    """``(count, cd_offset, cd_size)`` from an end record that ends exactly at end of file, else None.

    Accepting only a record that ends at EOF (allowing for its comment) means a stale record left
    inside the file by an earlier close is never mistaken for the live one.
    """
    pos = tail.rfind(EOCD_SIG)
    while pos >= 0:
        if pos + EOCD.size <= len(tail):
            _sig, disk, cd_disk, _n_disk, count, cd_size, cd_offset, comment_len = EOCD.unpack_from(tail, pos)
            if tail_offset + pos + EOCD.size + comment_len == file_size:
                if disk or cd_disk:
                    raise ZipFormatError("multi-disk archives are not supported")
                if MAX32 in (cd_offset, cd_size) or count == MAX16:
                    return _find_zip64_end(tail, pos)
                return count, cd_offset, cd_size
        pos = tail.rfind(EOCD_SIG, 0, pos)
    return None


def _find_zip64_end(tail: bytes, eocd_pos: int) -> tuple[int, int, int]:
    loc = eocd_pos - ZIP64_LOCATOR.size
    z64 = loc - ZIP64_EOCD.size
    if z64 < 0 or tail[loc:loc + 4] != ZIP64_LOCATOR_SIG or tail[z64:z64 + 4] != ZIP64_EOCD_SIG:
        raise ZipFormatError("ZIP64 end records are missing")
    rec = ZIP64_EOCD.unpack_from(tail, z64)
    return rec[7], rec[9], rec[8]


def data_offset_from_local(header: bytes, entry: Entry) -> int:
    """Check the local header read at ``entry.offset`` and return where the entry's data starts."""
    if len(header) < LOCAL.size or header[:4] != LOCAL_SIG:
        raise ZipFormatError(f"entry {entry.name!r}: no local header at offset {entry.offset}")
    rec = LOCAL.unpack_from(header, 0)
    nlen, xlen = rec[9], rec[10]
    name = header[LOCAL.size:LOCAL.size + nlen]
    if name != entry.name.encode("utf-8") and name != entry.name.encode("cp437", "replace"):
        raise ZipFormatError(f"entry {entry.name!r}: local header names {name[:60]!r}")
    return int(entry.offset + LOCAL.size + nlen + xlen)
