"""The site icon, drawn here in code (no image file to license or keep in step): a white
magnifying glass over a newspaper-blue square, as a 32x32 PNG wrapped in an ICO container,
which every browser accepts at /favicon.ico."""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache

SIZE = 32
BLUE = (23, 84, 158, 255)
WHITE = (255, 255, 255, 255)
CLEAR = (0, 0, 0, 0)
# The lens: a ring centred at (13, 13); the handle: a thick stroke towards the corner.
LENS_CENTRE, LENS_OUTER, LENS_INNER = 13.0, 8.5, 5.5
CORNER_RADIUS = 6


def _pixel(x: int, y: int) -> tuple[int, int, int, int]:
    px, py = x + 0.5, y + 0.5
    # Rounded square: transparent outside the corners' arcs.
    for cx in (CORNER_RADIUS, SIZE - CORNER_RADIUS):
        for cy in (CORNER_RADIUS, SIZE - CORNER_RADIUS):
            outside_x = px < CORNER_RADIUS if cx == CORNER_RADIUS else px > cx
            outside_y = py < CORNER_RADIUS if cy == CORNER_RADIUS else py > cy
            if outside_x and outside_y and (px - cx) ** 2 + (py - cy) ** 2 > CORNER_RADIUS**2:
                return CLEAR
    distance = ((px - LENS_CENTRE) ** 2 + (py - LENS_CENTRE) ** 2) ** 0.5
    if LENS_INNER <= distance <= LENS_OUTER:
        return WHITE
    # The handle: points near the diagonal from the lens' edge to (26, 26).
    along = (px + py) / 2
    if LENS_CENTRE + 5.5 <= along <= 26.5 and abs(px - py) <= 2.6:
        return WHITE
    return BLUE


def png() -> bytes:
    """The icon as a PNG (RGBA, no filtering)."""
    rows = b"".join(
        b"\x00" + b"".join(bytes(_pixel(x, y)) for x in range(SIZE)) for y in range(SIZE)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


@lru_cache(maxsize=1)
def ico() -> bytes:
    """The icon as an ICO file holding the PNG (allowed inside ICO since Windows Vista)."""
    image = png()
    directory = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", SIZE, SIZE, 0, 0, 1, 32, len(image), 6 + 16)
    return directory + entry + image
