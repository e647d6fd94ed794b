#!/usr/bin/env python3
"""make_media_seeds.py: writes the small media seeds of fuzz/seeds/media (committed).

The real music (scripts/music.sh) gives the media target Ogg Vorbis, Ogg Opus and MP3; this
adds the containers it lacks, tagged and (FLAC) with cover art, small enough to commit:

  tagged.wav    PCM in RIFF with LIST/INFO tags
  tagged.flac   FLAC (verbatim subframes) with a VORBIS_COMMENT and a PICTURE block
  opus.webm     WebM (Matroska) with Opus packets taken from a warzone2100-music file, tagged

No encoder is needed (no ffmpeg on these machines): the formats are written by hand.
Run from anywhere: python3 fuzz/make_media_seeds.py [path/to/a.opus]
"""

import math
import os
import struct
import subprocess
import sys
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "media")


def tone(rate, seconds, channels):
    n = int(rate * seconds)
    return [
        [int(12000 * math.sin(2 * math.pi * (440 + 220 * c) * i / rate)) for c in range(channels)]
        for i in range(n)
    ]


def wav():
    rate, samples = 8000, tone(8000, 0.25, 1)
    data = b"".join(struct.pack("<h", s[0]) for s in samples)
    info = b""
    for key, value in [(b"INAM", b"Seed Tone"), (b"IART", b"Fuzz Band"), (b"IPRD", b"Seeds")]:
        value += b"\0"
        info += key + struct.pack("<I", len(value)) + value + (b"\0" if len(value) % 2 else b"")
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = (
        b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"LIST" + struct.pack("<I", 4 + len(info)) + b"INFO" + info
        + b"data" + struct.pack("<I", len(data)) + data
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def crc8(data):
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def crc16(data):
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def png_1x1():
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0\xff\0\0")) + chunk(b"IEND", b"")


def flac():
    rate, block = 8000, 1024
    samples = tone(rate, 0.25, 1)
    total = len(samples)

    def block_header(last, kind, data):
        return bytes([(0x80 if last else 0) | kind]) + len(data).to_bytes(3, "big") + data

    info = (
        struct.pack(">HH", block, block)
        + (0).to_bytes(3, "big") + (0).to_bytes(3, "big")
        # 20 bits rate, 3 bits channels-1, 5 bits bps-1, 36 bits total samples
        + ((rate << 44) | (0 << 41) | (15 << 36) | total).to_bytes(8, "big")
        + bytes(16)
    )
    comments = [b"TITLE=Seed Tone", b"ARTIST=Fuzz Band", b"ALBUM=Seeds", b"TRACKNUMBER=3", b"DATE=2024-05-01"]
    vendor = b"tunemesh seeds"
    vorbis = struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(comments))
    vorbis += b"".join(struct.pack("<I", len(c)) + c for c in comments)
    image, mime = png_1x1(), b"image/png"
    picture = (
        struct.pack(">II", 3, len(mime)) + mime + struct.pack(">I", 0)
        + struct.pack(">IIIII", 1, 1, 24, 0, len(image)) + image
    )
    out = b"fLaC" + block_header(False, 0, info) + block_header(False, 4, vorbis) + block_header(True, 6, picture)
    for number, start in enumerate(range(0, total, block)):
        chunk = samples[start:start + block]
        # sync, fixed blocking; block size code 0111 (16-bit size-1 follows), rate 8 kHz (0100);
        # mono (0000), 16 bits (100), reserved 0; frame number (UTF-8 coded, < 128).
        header = bytes([0xFF, 0xF8, 0x74, 0x08, number]) + struct.pack(">H", len(chunk) - 1)
        header += bytes([crc8(header)])
        frame = header + b"\x02" + b"".join(struct.pack(">h", s[0]) for s in chunk)
        out += frame + struct.pack(">H", crc16(frame))
    return out


def ogg_packets(data):
    """The packets of the first logical stream of an Ogg file."""
    packets, current, at = [], b"", 0
    while at + 27 <= len(data) and data[at:at + 4] == b"OggS":
        segments = data[at + 26]
        lacing = data[at + 27:at + 27 + segments]
        at += 27 + segments
        for size in lacing:
            current += data[at:at + size]
            at += size
            if size < 255:
                packets.append(current)
                current = b""
    return packets


def vint_size(n):
    for length in range(1, 9):
        if n < (1 << (7 * length)) - 1:
            return ((1 << (7 * length)) | n).to_bytes(length, "big")
    raise ValueError(n)


def element(ident, payload):
    return ident + vint_size(len(payload)) + payload


def uint(ident, value):
    return element(ident, value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def webm(opus_file):
    with open(opus_file, "rb") as f:
        packets = ogg_packets(f.read(200_000))
    head, audio = packets[0], packets[2:27]
    ebml = element(b"\x1a\x45\xdf\xa3", uint(b"\x42\x86", 1) + uint(b"\x42\xf7", 1) + uint(b"\x42\xf2", 4)
                   + uint(b"\x42\xf3", 8) + element(b"\x42\x82", b"webm") + uint(b"\x42\x87", 4) + uint(b"\x42\x85", 2))
    info = element(b"\x15\x49\xa9\x66", uint(b"\x2a\xd7\xb1", 1_000_000) + element(b"\x4d\x80", b"seeds")
                   + element(b"\x57\x41", b"seeds") + element(b"\x44\x89", struct.pack(">d", 20.0 * len(audio))))
    track = element(b"\xae", uint(b"\xd7", 1) + uint(b"\x73\xc5", 1) + uint(b"\x83", 2) + element(b"\x86", b"A_OPUS")
                    + element(b"\x63\xa2", head) + uint(b"\x56\xaa", 6_500_000) + uint(b"\x56\xbb", 80_000_000)
                    + element(b"\xe1", element(b"\xb5", struct.pack(">d", 48000.0)) + uint(b"\x9f", head[9])))
    tracks = element(b"\x16\x54\xae\x6b", track)
    tag = element(b"\x73\x73", element(b"\x63\xc0", b"")
                  + element(b"\x67\xc8", element(b"\x45\xa3", b"TITLE") + element(b"\x44\x87", b"Seed Opus")))
    tags = element(b"\x12\x54\xc3\x67", tag)
    blocks = b"".join(element(b"\xa3", b"\x81" + struct.pack(">h", 20 * i) + b"\x80" + p) for i, p in enumerate(audio))
    cluster = element(b"\x1f\x43\xb6\x75", uint(b"\xe7", 0) + blocks)
    return ebml + element(b"\x18\x53\x80\x67", info + tracks + tags + cluster)


def first_opus():
    try:
        files = subprocess.run(["dpkg", "-L", "warzone2100-music"], capture_output=True, text=True).stdout.split()
    except OSError:
        return None
    return next((f for f in files if f.endswith(".opus")), None)


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {"tagged.wav": wav(), "tagged.flac": flac()}
    opus = sys.argv[1] if len(sys.argv) > 1 else first_opus()
    if opus:
        seeds["opus.webm"] = webm(opus)
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
