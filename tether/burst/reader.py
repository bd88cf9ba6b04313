"""Reading a burst: metadata from the manifest, frames by stored offset, a scan when the directory is gone."""
from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tether.burst.errors import BurstError, CorruptBurst
from tether.burst.format import (
    DERIVED_DIR,
    HEADER_ENTRY,
    MANIFEST_ENTRY,
    check_derived_name,
    is_safe_entry_name,
    meta_entry,
    parse_frame_entry,
    parse_meta_entry,
)
from tether.burst.manifest import check_header, check_manifest, parse_json
from tether.burst.matching import FrameMatcher
from tether.burst.meta import FrameMeta
from tether.burst.scan import scan_entries
from tether.burst.zipcodec import (
    EOCD,
    LOCAL,
    LOCAL_SIG,
    STORED,
    Entry,
    ZipFormatError,
    crc32,
    data_offset_from_local,
    find_end,
    parse_central_directory,
)
from tether.imagebytes import decodable_size
from tether.numbering import frame_number

if TYPE_CHECKING:
    import numpy as np

_REDUCE_FLAGS = {
    1: "IMREAD_COLOR",
    2: "IMREAD_REDUCED_COLOR_2",
    4: "IMREAD_REDUCED_COLOR_4",
    8: "IMREAD_REDUCED_COLOR_8",
}


def decode_frame(data: bytes, *, reduce: int = 1, what: str = "frame") -> np.ndarray | None:
    """A frame's bytes decoded to BGR uint8, scaled by 1/``reduce`` in the JPEG decoder (1, 2, 4 or 8);
    None when they do not decode. The size is checked from the header first (``what`` names the frame in
    that error): a few kB of PNG may claim gigapixels."""
    import cv2
    import numpy as np

    if reduce not in _REDUCE_FLAGS:
        raise BurstError(f"reduce must be one of 1, 2, 4, 8, not {reduce!r}")
    if decodable_size(data, what) == (0, 0):
        return None
    image: np.ndarray | None = cv2.imdecode(np.frombuffer(data, np.uint8), getattr(cv2, _REDUCE_FLAGS[reduce]))
    return image


class _Damaged(Exception):
    """The central directory or manifest is unusable in a way a scan of the local entries may get around."""


def open_burst(path: Path | str) -> BurstReader:
    """Open a burst for reading (closed, or crashed and recovered by scanning)."""
    return BurstReader(path)


class BurstReader:
    """Random access to a burst's frames and metadata; safe to share between threads (pread only)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise BurstError(f"{self.path}: no such file") from None
        except IsADirectoryError:
            raise BurstError(f"{self.path}: is a folder, not a burst file") from None
        except OSError as exc:
            raise BurstError(f"{self.path}: cannot open ({exc.strerror})") from None
        st = os.fstat(self._fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(self._fd)
            raise BurstError(f"{self.path}: is a folder or device, not a burst file")
        self._size = st.st_size
        self.recovered = False
        #: What a scan skipped or could not read (empty for a burst opened through its directory).
        self.problems: list[str] = []
        try:
            self._load()
        except OSError as exc:
            os.close(self._fd)
            raise BurstError(f"{self.path}: cannot read ({exc.strerror or exc})") from None
        except BaseException:
            os.close(self._fd)
            raise

    # ---- opening ----

    def _load(self) -> None:
        if self._size == 0:
            raise CorruptBurst(f"{self.path}: the file is empty")
        if os.pread(self._fd, 4, 0) != LOCAL_SIG:
            raise CorruptBurst(f"{self.path}: not a ZIP archive, so not a burst")
        try:
            self._entries = self._directory_entries()
            self._use_entries(scanned=False)
            return
        except _Damaged as exc:
            reason = str(exc)
        entries, self.problems = scan_entries(self._fd, self._size)
        self.problems.insert(0, f"opened by scanning the local entries: {reason}")
        self.recovered = True
        self._entries = {}
        for entry in entries:  # a later entry of the same name replaces the earlier one
            if not is_safe_entry_name(entry.name):
                self.problems.append(f"entry name {entry.name!r} tries to leave the archive's folder; skipped")
                continue
            self._entries[entry.name] = entry
        self._scanned = [e for e in entries if is_safe_entry_name(e.name)]
        try:
            self._use_entries(scanned=True)
        except _Damaged as exc:
            raise CorruptBurst(f"{self.path}: {exc}") from None

    def _file_key(self) -> tuple[int, int]:
        """(device, inode) of the open file."""
        st = os.fstat(self._fd)
        return st.st_dev, st.st_ino

    def _directory_entries(self) -> dict[str, Entry]:
        tail_len = min(self._size, EOCD.size + 0xFFFF)
        tail_offset = self._size - tail_len
        try:
            end = find_end(os.pread(self._fd, tail_len, tail_offset), tail_offset, self._size)
            if end is None:
                raise _Damaged("no central directory at the end (the burst was never closed, or is truncated)")
            count, cd_offset, cd_size = end
            if cd_offset + cd_size > self._size or count > self._size // 46:
                raise _Damaged("the central directory lies outside the file")
            listed = parse_central_directory(os.pread(self._fd, cd_size, cd_offset), count)
        except ZipFormatError as exc:
            raise _Damaged(str(exc)) from None
        entries: dict[str, Entry] = {}
        for entry in listed:
            self._check_name(entry.name)
            if entry.name in entries:
                raise CorruptBurst(f"{self.path}: the entry {entry.name!r} appears twice")
            if entry.method != STORED:
                raise CorruptBurst(
                    f"{self.path}: {entry.name} is compressed; burst entries are stored",
                    hint="was the file re-zipped by another tool?",
                )
            if entry.offset + LOCAL.size + entry.size > self._size or entry.csize != entry.size:
                raise _Damaged(f"the directory places {entry.name} beyond the end of the file")
            entries[entry.name] = entry
        return entries

    def _check_name(self, name: str) -> None:
        if not is_safe_entry_name(name):
            raise CorruptBurst(f"{self.path}: entry name {name!r} tries to leave the archive's folder (path traversal)")

    def _use_entries(self, *, scanned: bool) -> None:
        """Build the frame list from the manifest, or from the header and metadata records."""
        pairs = self._from_manifest(scanned) if MANIFEST_ENTRY in self._entries else None
        if pairs is None:
            if HEADER_ENTRY not in self._entries:
                if scanned:
                    raise _Damaged("no burst.json or manifest.json could be read; not a tether burst, or damaged")
                raise CorruptBurst(
                    f"{self.path}: a ZIP archive without burst.json or manifest.json, not a tether burst"
                )
            pairs = self._from_records()
        self._frames = [meta for meta, _ in pairs]
        self._frame_entries = [entry for _, entry in pairs]

    def _from_manifest(self, scanned: bool) -> list[tuple[FrameMeta, Entry]] | None:
        where = f"{self.path}: manifest.json"
        try:
            raw = self._read(self._entries[MANIFEST_ENTRY])
        except CorruptBurst as exc:
            if scanned:
                self.problems.append(str(exc))
                return None
            raise _Damaged(f"manifest.json is unreadable ({exc})") from None
        manifest, listed = check_manifest(parse_json(raw, where), where)
        for meta, name in listed:
            parsed = parse_frame_entry(name)
            if parsed is None or parsed[0] != meta.index:
                raise CorruptBurst(f"{where}: frame {frame_number(meta.index)} points at entry {name!r}")
        if not scanned:
            missing = [name for _, name in listed if name not in self._entries]
            if missing:
                raise _Damaged(f"manifest.json lists {missing[0]} but the directory lacks it")
            self.manifest = manifest
            return [(meta, self._entries[name]) for meta, name in listed]
        # after a scan, names are not trusted on their own: a frame is the entry whose SHA-256 matches
        matcher = FrameMatcher(self._all_entries(), self._read, self._file_key())
        found = [matcher.take(meta, name, "") for meta, name in listed]
        if any(pair is None for pair in found):
            self.problems.append("manifest.json lists frames that are missing or damaged; using the per-frame records")
            return None
        self.manifest = manifest
        return found  # type: ignore[return-value]

    def _from_records(self) -> list[tuple[FrameMeta, Entry]]:
        """Pair each intact metadata record with the frame entry whose checksum it names."""
        where = f"{self.path}: burst.json"
        try:
            header = check_header(parse_json(self._read(self._entries[HEADER_ENTRY]), where), where)
        except CorruptBurst:
            if self.recovered:
                raise
            raise _Damaged("burst.json is unreadable") from None
        records: dict[int, tuple[FrameMeta, str, object]] = {}
        for entry in reversed(self._all_entries()):  # newest first: the first valid record of an index wins
            index = parse_meta_entry(entry.name)
            if index is None or index in records:
                continue
            try:
                record = parse_json(self._read(entry), f"{self.path}: {entry.name}")
                meta = FrameMeta.from_dict(record, f"{self.path}: {entry.name}")
            except CorruptBurst as exc:
                self.problems.append(exc.message)
                continue
            if meta.index != index or not isinstance(record.get("entry"), str):
                self.problems.append(f"{entry.name}: does not describe frame {frame_number(index)}, skipped")
                continue
            records[index] = (meta, record["entry"], record.get("crc32"))
        matcher = FrameMatcher(self._all_entries(), self._read, self._file_key())
        pairs: list[tuple[FrameMeta, Entry]] = []
        for index in sorted(records):
            meta, name, crc = records[index]
            found = matcher.take(meta, name, crc)
            if found is None:
                self.problems.append(
                    f"frame {frame_number(index)}: metadata present but the frame data is missing (the frame in flight)"
                )
            else:
                pairs.append(found)
        taken = {meta.index for meta, _ in pairs}
        for entry, data in matcher.orphans():  # the data survived, its record did not: keep the frame
            index = parse_frame_entry(entry.name)[0]  # type: ignore[index]
            if index in taken:
                continue
            from tether.burst.writer import complete_meta

            meta = complete_meta(data, FrameMeta(focus_position=-1, extra={"recovered": "metadata record lost"}), index)
            self.problems.append(
                f"frame {frame_number(index)}: its metadata record was lost; kept with unknown focus position"
            )
            pairs.append((meta, entry))
            taken.add(index)
        pairs.sort(key=lambda p: p[0].index)
        derived = {
            n[len(DERIVED_DIR) :]: {"entry": n, "size": e.size, "sha256": ""}
            for n, e in self._entries.items()
            if n.startswith(DERIVED_DIR)
        }
        self.manifest = dict(
            header,
            status="unclosed",
            closed_at=None,
            summary={},
            frame_count=len(pairs),
            frames=[dict(m.to_dict(), entry=e.name) for m, e in pairs],
            derived=derived,
        )
        return pairs

    def _all_entries(self) -> list[Entry]:
        """Every intact entry in file order, duplicates included (after a scan), else the directory's."""
        return self._scanned if self.recovered else self.directory()

    # ---- reading ----

    def _read(self, entry: Entry, *, check: bool = True) -> bytes:
        """The bytes of ``entry``, CRC-checked, located through its local header (cached)."""
        if entry.data_offset < 0:
            head = os.pread(self._fd, LOCAL.size + len(entry.name.encode("utf-8")), entry.offset)
            try:
                entry.data_offset = data_offset_from_local(head, entry)
            except ZipFormatError as exc:
                raise CorruptBurst(f"{self.path}: {exc}") from None
        data = os.pread(self._fd, entry.size, entry.data_offset) if entry.size else b""
        if len(data) != entry.size:
            raise CorruptBurst(f"{self.path}: the file ends inside {entry.name} (truncated)")
        if check and crc32(data) != entry.crc:
            raise CorruptBurst(f"{self.path}: {entry.name} is damaged (checksum mismatch)")
        return data

    def directory(self) -> list[Entry]:
        """The archive's entries in file order (for tools that rewrite the directory)."""
        return sorted(self._entries.values(), key=lambda e: e.offset)

    @property
    def frame_count(self) -> int:
        return len(self._frames)

    def _position(self, i: int) -> int:
        if not isinstance(i, int) or not 0 <= i < len(self._frames):
            raise BurstError(f"{self.path}: no frame index {i} (the burst has {len(self._frames)} frames)")
        return i

    def meta(self, i: int) -> FrameMeta:
        """Metadata of the frame at position ``i`` (0-based; equals its index unless frames were dropped)."""
        return self._frames[self._position(i)]

    def frames_meta(self) -> list[FrameMeta]:
        """Metadata of every frame, in capture order."""
        return list(self._frames)

    def frame_name(self, i: int) -> str:
        """The archive entry holding frame ``i`` (e.g. ``frames/000007.jpg``)."""
        return self._frame_entries[self._position(i)].name

    def frame_bytes(self, i: int) -> bytes:
        """The frame's bytes exactly as the camera sent them (CRC-checked)."""
        return self._read(self._frame_entries[self._position(i)])

    def frame_image(self, i: int, *, reduce: int = 1) -> np.ndarray:
        """The frame decoded to BGR uint8, scaled by 1/``reduce`` in the JPEG decoder (1, 2, 4 or 8)."""
        image = decode_frame(self.frame_bytes(i), reduce=reduce, what=f"{self.path}: frame {frame_number(i)}")
        if image is None:
            meta = self._frames[i]
            raise BurstError(
                f"{self.path}: frame {frame_number(i)} ({self.frame_name(i)}, {meta.mime}) cannot be decoded"
                + (" (the camera sent it corrupt)" if meta.corrupt else "")
            )
        return image

    def derived_names(self) -> list[str]:
        """Names of the derived data items (sharpness, index map, depth map, ...) stored so far."""
        return sorted(self.manifest.get("derived", {}))

    def derived(self, name: str) -> bytes:
        """The bytes of derived item ``name``; checked against the manifest's SHA-256."""
        check_derived_name(name)
        info = self.manifest.get("derived", {}).get(name)
        entry = self._entries.get(info["entry"]) if info else None
        if entry is None:
            raise BurstError(
                f"{self.path}: no derived data named {name!r}",
                hint=f"stored: {', '.join(self.derived_names()) or 'none'}",
            )
        data = self._read(entry)
        if info.get("sha256") and hashlib.sha256(data).hexdigest() != info["sha256"]:
            raise CorruptBurst(f"{self.path}: derived data {name!r} does not match its checksum")
        return data

    def verify(self) -> list[str]:
        """Check every frame's CRC and SHA-256 and the records against the manifest; returns the problems."""
        problems = list(self.problems)
        for pos, (meta, entry) in enumerate(zip(self._frames, self._frame_entries, strict=False)):
            try:
                data = self._read(entry)
            except CorruptBurst as exc:
                problems.append(f"frame {frame_number(pos)}: {exc.message.removeprefix(f'{self.path}: ')}")
                continue
            if hashlib.sha256(data).hexdigest() != meta.sha256:
                problems.append(f"frame {frame_number(pos)} ({entry.name}): SHA-256 does not match its metadata")
        problems += self._verify_records()
        for name in self.derived_names():
            try:
                self.derived(name)
            except BurstError as exc:
                problems.append(exc.message.removeprefix(f"{self.path}: "))
        return problems

    def _verify_records(self) -> list[str]:
        """The per-frame records written during the sweep must agree with the manifest written at close."""
        problems = []
        for meta, frame in zip(self._frames, self._frame_entries, strict=False):
            entry = self._entries.get(meta_entry(meta.index))
            if entry is None:
                if not meta.extra.get("recovered"):
                    problems.append(
                        f"frame {frame_number(meta.index)}: its metadata record {meta_entry(meta.index)} is missing"
                    )
                continue
            try:
                raw = parse_json(self._read(entry), entry.name)
                record = FrameMeta.from_dict(raw, entry.name)
            except CorruptBurst as exc:
                problems.append(exc.message)
                continue
            if raw.get("crc32") not in (None, f"{frame.crc:08x}"):
                problems.append(f"frame {frame_number(meta.index)}: {entry.name} names another CRC-32 than the frame's")
            if replace(record, sha256=record.sha256 or meta.sha256) != meta:
                problems.append(f"frame {frame_number(meta.index)}: {entry.name} disagrees with manifest.json")
        return problems

    def info(self) -> dict[str, Any]:
        """A JSON-able summary: camera, sweep, frame count, focus range, sizes, derived items, state."""
        frames = self._frames
        positions = [m.focus_position for m in frames if m.focus_position >= 0]
        times = [m.captured_at for m in frames if m.captured_at]
        return {
            "path": str(self.path),
            "format_version": self.manifest.get("version"),
            "status": self.manifest.get("status", "complete"),
            "recovered": self.recovered,
            "problems": list(self.problems),
            "camera": self.manifest.get("camera", {}),
            "sweep": self.manifest.get("sweep", {}),
            "summary": self.manifest.get("summary", {}),
            "frame_count": len(frames),
            "sources": sorted({m.source for m in frames}),
            "sizes": sorted({f"{m.width}x{m.height}" for m in frames}),
            "corrupt_frames": [m.index for m in frames if m.corrupt],
            "focus_range": [min(positions), max(positions)] if positions else None,
            "duration_s": round(max(times) - min(times), 3) if times else 0.0,
            "bytes": self._size,
            "derived": self.derived_names(),
        }

    def close(self) -> None:
        """Release the file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> BurstReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
