"""LOLWUT, as Redis 7.0's lolwut.c, lolwut5.c and lolwut6.c: Redis 7.0's own answer
is its version line; VERSION 5 draws Georg Nees's Schotter in Braille, VERSION 6 a
city skyline in terminal colours. Like Redis's, the drawings are random."""

from __future__ import annotations

import math
import random

from protocol.reply import Verbatim
from server.errors import parse_int


class Canvas:
    """lwCanvas: a width x height grid of colours; drawing outside it is ignored."""

    def __init__(self, width: int, height: int, background: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray([background]) * (width * height)

    def draw(self, x: int, y: int, color: int) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            self.pixels[x + y * self.width] = color

    def get(self, x: int, y: int) -> int:
        if 0 <= x < self.width and 0 <= y < self.height:
            return self.pixels[x + y * self.width]
        return 0

    def line(self, x1: int, y1: int, x2: int, y2: int, color: int) -> None:
        """Bresenham, as lwDrawLine."""
        dx, dy = abs(x2 - x1), abs(y2 - y1)
        sx, sy = (1 if x1 < x2 else -1), (1 if y1 < y2 else -1)
        err = dx - dy
        while True:
            self.draw(x1, y1, color)
            if x1 == x2 and y1 == y2:
                return
            e2 = err * 2
            if e2 > -dy:
                err -= dy
                x1 += sx
            if e2 < dx:
                err += dx
                y1 += sy

    def square(self, x: int, y: int, size: float, angle: float, color: int) -> None:
        """lwDrawSquare: the four corners on a circle, from 45 degrees plus ``angle``."""
        size = round(size / 1.4142135623)
        k = math.pi / 4 + angle
        corners = []
        for _ in range(4):
            corners.append((round(math.sin(k) * size + x), round(math.cos(k) * size + y)))
            k += math.pi / 2
        for j in range(4):
            self.line(*corners[j], *corners[(j + 1) % 4], color)


def _sizes(argv: list[bytes], defaults: list[int], limits: list[int]) -> list[int]:
    """The drawing's numeric arguments (missing: the defaults), each clamped to
    1..its limit, as Redis does to keep LOLWUT cheap."""
    values = [parse_int(arg) for arg in argv[1:len(defaults) + 1]]
    values += defaults[len(values):]
    return [min(max(value, 1), limit) for value, limit in zip(values, limits, strict=True)]


def _schotter(argv: list[bytes], version: str) -> str:
    """lolwut5Command: LOLWUT VERSION 5 [columns] [squares-per-row] [squares-per-col]."""
    columns, per_row, per_col = _sizes(argv, [66, 8, 12], [1000, 200, 200])
    width = columns * 2
    padding = 2 if width > 4 else 0
    side = (width - padding * 2) / per_row
    canvas = Canvas(width, int(side * per_col + padding * 2), 0)
    for y in range(per_col):
        for x in range(per_row):
            sx = int(x * side + side / 2 + padding)
            sy = int(y * side + side / 2 + padding)
            angle = 0.0
            if y > 1:  # rotated and moved more, the lower the row
                r1, r2, r3 = (random.random() / per_col * y for _ in range(3))
                r1, r2, r3 = (-r if random.getrandbits(1) else r for r in (r1, r2, r3))
                angle = r1
                sx = int(sx + r2 * side / 3)
                sy = int(sy + r3 * side / 3)
            canvas.square(sx, sy, side, angle, 1)
    text = []
    for y in range(0, canvas.height, 4):  # one Braille character per 2x4 pixels
        row = []
        for x in range(0, canvas.width, 2):
            dots = (canvas.get(x, y), canvas.get(x, y + 1), canvas.get(x, y + 2),
                    canvas.get(x + 1, y), canvas.get(x + 1, y + 1), canvas.get(x + 1, y + 2),
                    canvas.get(x, y + 3), canvas.get(x + 1, y + 3))
            row.append(chr(0x2800 + sum(bit << i for i, bit in enumerate(dots))))
        text.append("".join(row))
        if y != canvas.height - 1:  # as Redis's renderCanvas: so often a blank line
            text.append("\n")
    return ("".join(text) + "\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. "
            f"{version}\n")


def _skyscraper(canvas: Canvas, xoff: int, width: int, height: int, windows: bool,
                color: int) -> None:
    """generateSkyscraper: a roof two pixels narrower each side; windows two wide."""
    start_y = canvas.height - 1
    end_y = start_y - height + 1
    for y in range(start_y, end_y - 1, -1):
        for x in range(xoff, xoff + width):
            if y == end_y and (x <= xoff + 1 or x >= xoff + width - 2):
                continue
            pixel = color
            if windows and xoff + 1 < x < xoff + width - 2 and end_y + 1 < y < start_y - 1:
                relx, rely = x - (xoff + 1), y - (end_y + 1)
                if relx // 2 % 2 and rely % 2:
                    pixel = random.choice([c for c in (1, 2) if c != color])
                    if relx % 2:
                        pixel = canvas.get(x - 1, y)
            canvas.draw(x, y, pixel)


_GRAYS = {0: "0;30;40m", 1: "0;90;100m", 2: "0;37;47m", 3: "0;97;107m"}


def _skyline(argv: list[bytes], version: str) -> str:
    """lolwut6Command: LOLWUT VERSION 6 [columns] [rows]."""
    columns, rows = _sizes(argv, [80, 20], [1000, 1000])
    canvas = Canvas(columns, rows, 3)
    for color in (2, 1):  # background buildings, the lighter ones behind
        offset = -10
        while offset < canvas.width:
            offset += random.randrange(8)
            width = 10 + random.randrange(9)
            share = 2 if color == 2 else 3  # the back row is taller
            height = canvas.height // 2 + random.randrange(canvas.height) // share
            _skyscraper(canvas, offset, width, height, False, color)
            offset += width // 2 if color == 2 else width + 1
    offset = -10
    while offset < canvas.width:  # the foreground, with windows
        offset += random.randrange(8)
        width = 5 + random.randrange(14)
        if width % 4:
            width += width % 3
        height = canvas.height // 3 + random.randrange(canvas.height) // 2
        _skyscraper(canvas, offset, width, height, True, 0)
        offset += width + 5
    lines = ("".join(f"\033[{_GRAYS[canvas.get(x, y)]} \033[0m" for x in range(canvas.width))
             for y in range(canvas.height))
    return ("\n".join(lines) + "\nDedicated to the 8 bit game developers of past and present.\n"
            f"Original 8 bit image from Plaguemon by hikikomori. Redis ver. {version}\n")


def lolwut(client, argv: list[bytes]) -> Verbatim:
    """LOLWUT [VERSION version] [version's arguments]: lolwutCommand picks the drawing
    by version, Redis 7.0's own (and any but 5 and 6) being the version line."""
    ours = client.server.redis_version
    drawing = None
    if len(argv) >= 3 and argv[1].lower() == b"version":
        drawing = parse_int(argv[2]) & 0xFFFFFFFF  # Redis formats it as unsigned
        argv = argv[2:]
    if drawing == 5:
        return Verbatim(_schotter(argv, ours))
    if drawing == 6:
        return Verbatim(_skyline(argv, ours))
    return Verbatim(f"Redis ver. {ours}\n")
