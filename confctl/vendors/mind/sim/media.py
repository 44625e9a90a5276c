"""Small but real media files for the simulator's recordings, generated in code (no binary blobs, no codecs):

- an MP4 (ISO BMFF) with one H.264 Baseline track whose frames use I_PCM macroblocks (raw samples), so any
  decoder plays it without us implementing a real encoder;
- a baseline JPEG thumbnail (one colour: only DC coefficients, with tiny Huffman tables);
- a lossless WebP preview (VP8L with single-symbol prefix codes, so the pixels cost zero bits).
"""

from __future__ import annotations

import struct
from functools import lru_cache


# -- H.264 ------------------------------------------------------------------------------------------------
class _Bits:
    def __init__(self):
        self.bits: list[int] = []

    def u(self, n: int, value: int) -> None:
        self.bits += [(value >> i) & 1 for i in reversed(range(n))]

    def ue(self, value: int) -> None:
        value += 1
        self.u(value.bit_length() - 1, 0)
        self.u(value.bit_length(), value)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def align(self) -> None:
        while len(self.bits) % 8:
            self.bits.append(0)

    def trailing(self) -> None:
        self.bits.append(1)
        self.align()

    def raw(self, data: bytes) -> None:
        for byte in data:
            self.u(8, byte)

    def tobytes(self) -> bytes:
        return bytes(int("".join(map(str, self.bits[i:i + 8])), 2) for i in range(0, len(self.bits), 8))


def _nal(header: int, rbsp: bytes) -> bytes:
    """Add emulation-prevention bytes (00 00 0x -> 00 00 03 0x for x <= 3)."""
    out, zeros = bytearray([header]), 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def _sps(width: int, height: int) -> bytes:
    b = _Bits()
    b.u(8, 66)      # profile_idc: Baseline
    b.u(8, 0xC0)    # constraint_set0/1
    b.u(8, 10)      # level 1.0
    b.ue(0)         # seq_parameter_set_id
    b.ue(0)         # log2_max_frame_num_minus4
    b.ue(2)         # pic_order_cnt_type
    b.ue(1)         # max_num_ref_frames
    b.u(1, 0)       # gaps_in_frame_num_value_allowed_flag
    b.ue(width // 16 - 1)
    b.ue(height // 16 - 1)
    b.u(1, 1)       # frame_mbs_only_flag
    b.u(1, 1)       # direct_8x8_inference_flag
    b.u(1, 0)       # frame_cropping_flag
    b.u(1, 0)       # vui_parameters_present_flag
    b.trailing()
    return _nal(0x67, b.tobytes())


def _pps() -> bytes:
    b = _Bits()
    b.ue(0)         # pic_parameter_set_id
    b.ue(0)         # seq_parameter_set_id
    b.u(1, 0)       # entropy_coding_mode_flag: CAVLC
    b.u(1, 0)       # bottom_field_pic_order_in_frame_present_flag
    b.ue(0)         # num_slice_groups_minus1
    b.ue(0)         # num_ref_idx_l0_default_active_minus1
    b.ue(0)         # num_ref_idx_l1_default_active_minus1
    b.u(1, 0)       # weighted_pred_flag
    b.u(2, 0)       # weighted_bipred_idc
    b.se(0)         # pic_init_qp_minus26
    b.se(0)         # pic_init_qs_minus26
    b.se(0)         # chroma_qp_index_offset
    b.u(1, 1)       # deblocking_filter_control_present_flag
    b.u(1, 0)       # constrained_intra_pred_flag
    b.u(1, 0)       # redundant_pic_cnt_present_flag
    b.trailing()
    return _nal(0x68, b.tobytes())


def _idr_frame(width: int, height: int, index: int, yuv: tuple[int, int, int]) -> bytes:
    b = _Bits()
    b.ue(0)             # first_mb_in_slice
    b.ue(7)             # slice_type: I (all slices)
    b.ue(0)             # pic_parameter_set_id
    b.u(4, 0)           # frame_num
    b.ue(index % 65536)  # idr_pic_id
    b.u(1, 0)           # no_output_of_prior_pics_flag
    b.u(1, 0)           # long_term_reference_flag
    b.se(0)             # slice_qp_delta
    b.ue(1)             # disable_deblocking_filter_idc
    y, cb, cr = yuv
    for _ in range((width // 16) * (height // 16)):
        b.ue(25)        # mb_type: I_PCM
        b.align()       # pcm_alignment_zero_bit
        b.raw(bytes([y]) * 256 + bytes([cb]) * 64 + bytes([cr]) * 64)
    b.trailing()
    return _nal(0x65, b.tobytes())


def _box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *payload)


_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


@lru_cache(maxsize=None)
def mp4(width: int = 32, height: int = 32, frames: int = 6, fps: int = 2) -> bytes:
    """A playable H.264 MP4: `frames` solid-colour frames (a slow colour cycle), `fps` frames per second."""
    palette = [(81, 90, 240), (145, 54, 34), (41, 240, 110), (210, 16, 146), (170, 166, 16), (106, 202, 222)]
    samples = [_idr_frame(width, height, i, palette[i % len(palette)]) for i in range(frames)]
    samples = [struct.pack(">I", len(s)) + s for s in samples]  # 4-byte NAL length prefixes (avcC)
    sps, pps = _sps(width, height), _pps()
    timescale, delta = 1000, 1000 // fps
    duration = delta * frames

    def moov(chunk_offset: int) -> bytes:
        avcc = _box(b"avcC", bytes([1, 66, 0xC0, 10, 0xFF, 0xE1]), struct.pack(">H", len(sps)), sps,
                    bytes([1]), struct.pack(">H", len(pps)), pps)
        avc1 = _box(b"avc1", bytes(6), struct.pack(">H", 1), bytes(16), struct.pack(">HH", width, height),
                    struct.pack(">II", 0x480000, 0x480000), bytes(4), struct.pack(">H", 1),
                    bytes([8]) + b"confctl".ljust(31, b"\0"), struct.pack(">Hh", 0x18, -1), avcc)
        stbl = _box(b"stbl",
                    _full(b"stsd", 0, 0, struct.pack(">I", 1), avc1),
                    _full(b"stts", 0, 0, struct.pack(">III", 1, frames, delta)),
                    _full(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, frames, 1)),
                    _full(b"stsz", 0, 0, struct.pack(">II", 0, frames), *(struct.pack(">I", len(s)) for s in samples)),
                    _full(b"stco", 0, 0, struct.pack(">II", 1, chunk_offset)))
        minf = _box(b"minf", _full(b"vmhd", 0, 1, bytes(8)),
                    _box(b"dinf", _full(b"dref", 0, 0, struct.pack(">I", 1), _full(b"url ", 0, 1))), stbl)
        mdia = _box(b"mdia",
                    _full(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, duration, 0x55C4, 0)),
                    _full(b"hdlr", 0, 0, bytes(4), b"vide", bytes(12), b"VideoHandler\0"), minf)
        tkhd = _full(b"tkhd", 0, 3, struct.pack(">IIIII", 0, 0, 1, 0, duration), bytes(8),
                     struct.pack(">hhhH", 0, 0, 0, 0), _MATRIX, struct.pack(">II", width << 16, height << 16))
        mvhd = _full(b"mvhd", 0, 0, struct.pack(">IIIIIH", 0, 0, timescale, duration, 0x10000, 0x100), bytes(10),
                     _MATRIX, bytes(24), struct.pack(">I", 2))
        return _box(b"moov", mvhd, _box(b"trak", tkhd, mdia))

    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 512), b"isomiso2avc1mp41")
    size = len(moov(0))
    return ftyp + moov(len(ftyp) + size + 8) + _box(b"mdat", *samples)


# -- JPEG -------------------------------------------------------------------------------------------------
def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


@lru_cache(maxsize=None)
def jpeg(width: int = 32, height: int = 32, gray: int = 96) -> bytes:
    """A baseline greyscale JPEG of one flat tone: every 8x8 block is a DC value and an end-of-block."""
    dc = 8 * (gray - 128)                      # the DCT's DC term of a flat block (quantiser 1)
    cat = abs(dc).bit_length()
    bits = _Bits()
    for n in range((width // 8) * (height // 8)):
        if n == 0 and cat:
            bits.u(2, 0b10)                    # DC code for category `cat`
            bits.u(cat, dc if dc > 0 else dc + (1 << cat) - 1)
        else:
            bits.u(1, 0)                       # DC difference 0
        bits.u(1, 0)                           # AC: end of block
    while len(bits.bits) % 8:
        bits.bits.append(1)
    scan = bits.tobytes().replace(b"\xff", b"\xff\x00")
    dc_table = bytes([0x00, 1, 1] + [0] * 14 + [0, cat or 1])
    ac_table = bytes([0x10, 1] + [0] * 15 + [0x00])
    return (b"\xff\xd8"
            + _segment(0xE0, b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00")
            + _segment(0xDB, b"\x00" + bytes([1]) * 64)
            + _segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
            + _segment(0xC4, dc_table) + _segment(0xC4, ac_table)
            + _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + scan + b"\xff\xd9")


# -- WebP -------------------------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def webp(width: int = 16, height: int = 48, argb: tuple[int, int, int, int] = (255, 81, 90, 240)) -> bytes:
    """A lossless WebP of one colour: five single-symbol prefix codes, so no pixel needs a bit."""
    bits: list[int] = []

    def put(n: int, value: int) -> None:                 # VP8L packs least significant bit first
        bits.extend((value >> i) & 1 for i in range(n))

    put(8, 0x2F)
    put(14, width - 1)
    put(14, height - 1)
    put(1, 1 if argb[0] != 255 else 0)
    put(3, 0)                                           # version
    put(1, 0)                                           # no transforms
    put(1, 0)                                           # no colour cache
    put(1, 0)                                           # no meta prefix codes
    alpha, red, green, blue = argb
    for symbol in (green, red, blue, alpha, 0):         # green, red, blue, alpha, distance
        put(1, 1)                                       # simple code
        put(1, 0)                                       # one symbol
        if symbol < 2:
            put(1, 0)
            put(1, symbol)
        else:
            put(1, 1)
            put(8, symbol)
    while len(bits) % 8:
        bits.append(0)
    data = bytes(sum(bits[i + j] << j for j in range(8)) for i in range(0, len(bits), 8))
    chunk = b"VP8L" + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk
