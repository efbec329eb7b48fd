"""Small synthetic executables for the checks of scripts/bundle: a 64-bit
little-endian ELF file with the parts the dynamic loader reads to decide
whether it can run a binary (ELF header, program headers, a loaded segment,
the dynamic segment with DT_STRTAB, DT_VERNEED and DT_VERNEEDNUM, and the
Elf64_Verneed / Elf64_Vernaux entries naming GLIBC_2.x versions), laid out
as the System V ABI's ELF-64 format and the LSB's symbol versioning describe
them, and a Mach-O header as macOS writes it. No cross compiler needed."""

from __future__ import annotations

import struct
from pathlib import Path

X86_64 = 0x3E
AARCH64 = 0xB7

EHDR_SIZE, PHDR_SIZE = 64, 56
PT_LOAD, PT_DYNAMIC = 1, 2
ET_DYN = 3
DT_NULL, DT_NEEDED, DT_STRTAB, DT_STRSZ = 0, 1, 5, 10
DT_VERNEED, DT_VERNEEDNUM = 0x6FFFFFFE, 0x6FFFFFFF
# Where the loaded segment sits in memory: not at 0, so a reader that takes
# addresses for file offsets reads the wrong bytes.
BASE = 0x400000


def elf_hash(name: bytes) -> int:
    """The SysV ELF hash that vna_hash holds."""
    value = 0
    for byte in name:
        value = ((value << 4) + byte) & 0xFFFFFFFF
        high = value & 0xF0000000
        if high:
            value ^= high >> 24
        value &= ~high & 0xFFFFFFFF
    return value


def elf(machine: int = X86_64, glibc: list[str] | None = None, filler: bytes = b"") -> bytes:
    """A dynamically linked ELF executable for `machine` that needs the glibc
    versions `glibc` (e.g. ["2.2.5", "2.34"]) from libc.so.6; with
    glibc=None, a static one (no dynamic segment). `filler` is data the
    loader never reads as a version need (a string in the program, say)."""
    phnum = 1 if glibc is None else 2
    body_offset = EHDR_SIZE + phnum * PHDR_SIZE
    strings = bytearray(b"\0")

    def string(text: str) -> int:
        index = len(strings)
        strings.extend(text.encode("ascii") + b"\0")
        return index

    dynamic = b""
    verneed = b""
    if glibc is not None:
        library = string("libc.so.6")
        names = [f"GLIBC_{version}" for version in glibc]
        indexes = [string(name) for name in names]
        # One Elf64_Verneed (vn_version, vn_cnt, vn_file, vn_aux, vn_next),
        # then its Elf64_Vernaux (vna_hash, vna_flags, vna_other, vna_name,
        # vna_next), each 16 bytes, offsets relative to the entry.
        verneed = struct.pack("<HHIII", 1, len(names), library, 16, 0)
        for number, (name, index) in enumerate(zip(names, indexes)):
            following = 16 if number < len(names) - 1 else 0
            verneed += struct.pack("<IHHII", elf_hash(name.encode()), 0, number + 2, index, following)
    strings_offset = body_offset + len(filler)
    verneed_offset = strings_offset + len(strings)
    verneed_offset += -verneed_offset % 8
    dynamic_offset = verneed_offset + len(verneed)
    dynamic_offset += -dynamic_offset % 8
    if glibc is not None:
        entries = [
            (DT_NEEDED, 1),
            (DT_STRTAB, BASE + strings_offset),
            (DT_STRSZ, len(strings)),
            (DT_VERNEED, BASE + verneed_offset),
            (DT_VERNEEDNUM, 1),
            (DT_NULL, 0),
        ]
        dynamic = b"".join(struct.pack("<qQ", tag, value) for tag, value in entries)
    size = dynamic_offset + len(dynamic)

    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8  # 64-bit, little-endian, version 1, System V ABI
    header = ident + struct.pack(
        "<HHIQQQIHHHHHH",
        ET_DYN, machine, 1, BASE + body_offset, EHDR_SIZE, 0, 0, EHDR_SIZE, PHDR_SIZE, phnum, 64, 0, 0,
    )
    program = struct.pack("<IIQQQQQQ", PT_LOAD, 5, 0, BASE, BASE, size, size, 0x1000)
    if glibc is not None:
        program += struct.pack(
            "<IIQQQQQQ", PT_DYNAMIC, 6, dynamic_offset, BASE + dynamic_offset, BASE + dynamic_offset,
            len(dynamic), len(dynamic), 8,
        )
    data = bytearray(header + program + filler + strings)
    data.extend(b"\0" * (verneed_offset - len(data)))
    data.extend(verneed)
    data.extend(b"\0" * (dynamic_offset - len(data)))
    data.extend(dynamic)
    assert len(data) == size
    return bytes(data)


def mach_o() -> bytes:
    """The header of a 64-bit arm64 Mach-O executable (MH_MAGIC_64,
    CPU_TYPE_ARM64, MH_EXECUTE), what `cargo build` writes on a Mac."""
    return struct.pack("<IiiIIII", 0xFEEDFACF, 0x0100000C, 0, 2, 0, 0, 0) + b"\0" * 64


def binaries(folder: Path, **per_name: bytes) -> Path:
    """`web` and `worker` in `folder`, executable: each one given, or an
    x86_64 binary that needs glibc 2.34 (what Amazon Linux 2023 has)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("web", "worker"):
        path = folder / name
        path.write_bytes(per_name.get(name, elf(X86_64, ["2.2.5", "2.17", "2.34"])))
        path.chmod(0o755)
    return folder
