"""Pairing frame records with frame entries by checksum when a burst is opened by scanning.

After a crash or damage, entry names are not trusted on their own: a record claims the frame
entry whose CRC-32 (or SHA-256) it names, preferring the entry of the same name, so a damaged
name can never make the reader serve one frame's bytes as another's.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

from tether.burst.errors import CorruptBurst
from tether.burst.format import parse_frame_entry
from tether.burst.meta import FrameMeta
from tether.burst.recent import Recent
from tether.burst.zipcodec import Entry

#: SHA-256 of frame entries already read, by (device, inode, entry offset, CRC-32, size): a burst still being
#: written is opened again and again (each frame the panel shows during a sweep), and its frames' digests
#: were computed again each time (100 frames of 1080p: 104 ms). A sweep's writer only appends.
_DIGESTS: Recent[tuple[int, int, int, int, int], str] = Recent(20_000)


class FrameMatcher:
    """Finds the frame entry holding a record's bytes by checksum, so a damaged name cannot swap frames.

    ``file`` (device, inode) lets the digests of entries read before be reused."""

    def __init__(self, entries: list[Entry], read: Callable[[Entry], bytes], file: tuple[int, int]) -> None:
        self._read = read  # CRC-checked read of one entry
        self._frames = [e for e in entries if parse_frame_entry(e.name)]
        self._sha: dict[int, str] = {}
        self._used: set[int] = set()
        self._file = file

    def _digest(self, k: int) -> str:
        if k not in self._sha:
            entry = self._frames[k]
            key = (*self._file, entry.offset, entry.crc, entry.size)
            known = _DIGESTS.get(key)
            if known is None:
                try:
                    known = hashlib.sha256(self._read(entry)).hexdigest()
                except CorruptBurst:
                    known = ""  # damaged: no digest to remember
                else:
                    _DIGESTS.put(key, known)
            self._sha[k] = known
        return self._sha[k]

    def take(self, meta: FrameMeta, name: str, crc: object) -> tuple[FrameMeta, Entry] | None:
        """The unused entry whose CRC-32 (or else SHA-256) matches, preferring one named ``name``.

        Returns the metadata with its SHA-256 filled in (a record written during the sweep has none).
        """
        order = sorted(range(len(self._frames)), key=lambda k: (self._frames[k].name != name, -k))
        for k in order:
            if k in self._used:
                continue
            entry = self._frames[k]
            if isinstance(crc, str) and crc:
                if f"{entry.crc:08x}" != crc or (meta.sha256 and self._digest(k) != meta.sha256):
                    continue
            elif not meta.sha256 or self._digest(k) != meta.sha256:
                continue
            self._used.add(k)
            return (meta if meta.sha256 else replace(meta, sha256=self._digest(k))), entry
        return None

    def orphans(self) -> list[tuple[Entry, bytes]]:
        """Intact frame entries no record claimed, newest first."""
        out = []
        for k in reversed(range(len(self._frames))):
            if k not in self._used and self._digest(k):
                out.append((self._frames[k], self._read(self._frames[k])))
        return out
