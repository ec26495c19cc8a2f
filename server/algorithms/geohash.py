"""Redis's geohash, as src/geohash.c and src/geohash_helper.c compute it, operation for
operation in doubles, so that scores, coordinates, search areas and distances are
Redis's to the last bit. No I/O, no commands: the GEO* handlers are server/commands/geo.py.

A position is a 52-bit geohash (26 steps of longitude and latitude bits, interleaved,
latitude in the even bits, longitude in the odd ones) stored as a sorted-set score.
Latitudes stop at ±85.05112878 (Web Mercator), not ±90.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

STEP_MAX = 26  # 26 * 2 = 52 bits
LAT_MIN, LAT_MAX = -85.05112878, 85.05112878
LON_MIN, LON_MAX = -180.0, 180.0
EARTH_RADIUS_IN_METERS = 6372797.560856
MERCATOR_MAX = 20037726.37
_D_R = math.pi / 180.0
_UINT64 = (1 << 64) - 1
_EVEN_BITS = 0x5555555555555555
_ODD_BITS = 0xAAAAAAAAAAAAAAAA
_ALPHABET = b"0123456789bcdefghjkmnpqrstuvwxyz"


def deg_rad(angle: float) -> float:
    return angle * _D_R


def rad_deg(angle: float) -> float:
    return angle / _D_R


# ------------------------------------------------------------------ bits


def interleave(even: int, odd: int) -> int:
    """The bits of two 32-bit numbers interleaved: ``even``'s at the even positions."""
    x, y = even, odd
    for shift, mask in ((16, 0x0000FFFF0000FFFF), (8, 0x00FF00FF00FF00FF),
                        (4, 0x0F0F0F0F0F0F0F0F), (2, 0x3333333333333333),
                        (1, 0x5555555555555555)):
        x = (x | (x << shift)) & mask
        y = (y | (y << shift)) & mask
    return x | (y << 1)


def deinterleave(bits: int) -> tuple[int, int]:
    """interleave's inverse: (the even bits, the odd bits)."""
    x, y = bits, bits >> 1
    for shift, mask in ((0, 0x5555555555555555), (1, 0x3333333333333333),
                        (2, 0x0F0F0F0F0F0F0F0F), (4, 0x00FF00FF00FF00FF),
                        (8, 0x0000FFFF0000FFFF), (16, 0x00000000FFFFFFFF)):
        x = (x | (x >> shift)) & mask
        y = (y | (y >> shift)) & mask
    return x, y


@dataclass(frozen=True)
class Area:
    """The cell of a geohash: its longitude and latitude ranges."""

    lon_min: float
    lon_max: float
    lat_min: float
    lat_max: float


def encode(longitude: float, latitude: float, step: int,
           lon_range: tuple[float, float] = (LON_MIN, LON_MAX),
           lat_range: tuple[float, float] = (LAT_MIN, LAT_MAX)) -> int | None:
    """geohashEncode: the ``step * 2`` bits of the cell holding the point, or None
    outside the ranges (or Redis's limits)."""
    if not (LON_MIN <= longitude <= LON_MAX and LAT_MIN <= latitude <= LAT_MAX):
        return None
    if not (lat_range[0] <= latitude <= lat_range[1] and
            lon_range[0] <= longitude <= lon_range[1]):
        return None
    lat_offset = (latitude - lat_range[0]) / (lat_range[1] - lat_range[0]) * (1 << step)
    lon_offset = (longitude - lon_range[0]) / (lon_range[1] - lon_range[0]) * (1 << step)
    return interleave(int(lat_offset), int(lon_offset))  # C truncates to uint32_t


def decode(bits: int, step: int) -> Area:
    """geohashDecode over Redis's ranges."""
    lat_cells, lon_cells = deinterleave(bits)
    lat_cells &= 0xFFFFFFFF
    lon_cells &= 0xFFFFFFFF
    cells = 1 << step
    lat_scale, lon_scale = LAT_MAX - LAT_MIN, LON_MAX - LON_MIN
    return Area(LON_MIN + (lon_cells * 1.0 / cells) * lon_scale,
                LON_MIN + ((lon_cells + 1) * 1.0 / cells) * lon_scale,
                LAT_MIN + (lat_cells * 1.0 / cells) * lat_scale,
                LAT_MIN + ((lat_cells + 1) * 1.0 / cells) * lat_scale)


def area_center(area: Area) -> tuple[float, float]:
    """geohashDecodeAreaToLongLat: the cell's middle, kept within Redis's limits."""
    longitude = min(max((area.lon_min + area.lon_max) / 2, LON_MIN), LON_MAX)
    latitude = min(max((area.lat_min + area.lat_max) / 2, LAT_MIN), LAT_MAX)
    return longitude, latitude


def score_to_bits(score: float) -> int:
    """``(uint64_t)score`` as gcc compiles it on x86-64, for any score a sorted set may
    hold (a member added by ZADD rather than GEOADD): out-of-range values wrap or
    become 2**63 as the cvttsd2si instruction makes them."""
    if score < 2.0**63:
        if score <= -(2.0**63) - 1 or math.isnan(score):
            return 1 << 63
        return math.trunc(score) & _UINT64
    if score - 2.0**63 >= 2.0**63:  # the instruction's overflow value, xor-ed away
        return 0
    return math.trunc(score - 2.0**63) + (1 << 63)


def score_to_lonlat(score: float) -> tuple[float, float]:
    """decodeGeohash: the position a 52-bit score stands for."""
    return area_center(decode(score_to_bits(score), STEP_MAX))


def lonlat_to_score(longitude: float, latitude: float) -> int:
    """GEOADD's score: the point's 52-bit hash (the point must be within the limits)."""
    bits = encode(longitude, latitude, STEP_MAX)
    assert bits is not None
    return bits


def align52(bits: int, step: int) -> int:
    return (bits << (52 - step * 2)) & _UINT64


def geohash_string(score: float) -> bytes:
    """GEOHASH's 11 characters: the position re-encoded over the standard ranges
    (latitude ±90), the last character always "0" (52 bits make 10 and a bit)."""
    longitude, latitude = score_to_lonlat(score)
    bits = encode(longitude, latitude, STEP_MAX, (-180.0, 180.0), (-90.0, 90.0)) or 0
    chars = [_ALPHABET[(bits >> (52 - (i + 1) * 5)) & 0x1F] for i in range(10)]
    return bytes(chars) + b"0"


# ------------------------------------------------------------------ neighbours


def _move_x(bits: int, step: int, direction: int) -> int:
    x, y = bits & _ODD_BITS, bits & _EVEN_BITS
    zz = _EVEN_BITS >> (64 - step * 2)
    x = x + (zz + 1) if direction > 0 else (x | zz) - (zz + 1)
    return (x & (_ODD_BITS >> (64 - step * 2))) | y


def _move_y(bits: int, step: int, direction: int) -> int:
    x, y = bits & _ODD_BITS, bits & _EVEN_BITS
    zz = _ODD_BITS >> (64 - step * 2)
    y = y + (zz + 1) if direction > 0 else (y | zz) - (zz + 1)
    return x | (y & (_EVEN_BITS >> (64 - step * 2)))


def _moved(bits: int, step: int, dx: int, dy: int) -> int:
    if dx:
        bits = _move_x(bits, step, dx)
    if dy:
        bits = _move_y(bits, step, dy)
    return bits


# The order membersOfAllNeighbors visits them in, after the centre.
_DIRECTIONS = {"north": (0, 1), "south": (0, -1), "east": (1, 0), "west": (-1, 0),
               "north_east": (1, 1), "north_west": (-1, 1), "south_east": (1, -1),
               "south_west": (-1, -1)}


# ------------------------------------------------------------------ shapes


@dataclass
class Shape:
    """A search area: around ``(longitude, latitude)``, a radius or a box (width,
    height), all in units of ``conversion`` metres."""

    longitude: float
    latitude: float
    conversion: float
    radius: float | None = None
    width: float = 0.0
    height: float = 0.0

    def bounding_box(self) -> tuple[float, float, float, float]:
        """geohashBoundingBox: (min lon, min lat, max lon, max lat)."""
        circle = self.radius is not None
        height = self.conversion * (self.radius if circle else self.height / 2)
        width = self.conversion * (self.radius if circle else self.width / 2)
        lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS)
        lon_delta_top = rad_deg(width / EARTH_RADIUS_IN_METERS /
                                math.cos(deg_rad(self.latitude + lat_delta)))
        lon_delta_bottom = rad_deg(width / EARTH_RADIUS_IN_METERS /
                                   math.cos(deg_rad(self.latitude - lat_delta)))
        lon_delta = lon_delta_bottom if self.latitude < 0 else lon_delta_top
        return (self.longitude - lon_delta, self.latitude - lat_delta,
                self.longitude + lon_delta, self.latitude + lat_delta)

    def radius_meters(self) -> float:
        if self.radius is not None:
            return self.radius * self.conversion
        return math.sqrt((self.width / 2) * (self.width / 2) +
                         (self.height / 2) * (self.height / 2)) * self.conversion

    def distance_if_within(self, longitude: float, latitude: float) -> float | None:
        """geoWithinShape: the distance (metres) from the centre, or None outside."""
        if self.radius is not None:
            distance = get_distance(self.longitude, self.latitude, longitude, latitude)
            return None if distance > self.radius * self.conversion else distance
        if lat_distance(latitude, self.latitude) > self.height * self.conversion / 2:
            return None
        if get_distance(longitude, latitude, self.longitude, latitude) > \
                self.width * self.conversion / 2:
            return None
        return get_distance(self.longitude, self.latitude, longitude, latitude)


def estimate_steps_by_radius(range_meters: float, latitude: float) -> int:
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2  # so the range is within the cells in most cases
    if latitude > 66 or latitude < -66:  # cells are narrower towards the poles
        step -= 1
        if latitude > 80 or latitude < -80:
            step -= 1
    return min(max(step, 1), 26)


def search_cells(shape: Shape) -> list[tuple[int, int] | None]:
    """geohashCalculateAreasByShapeWGS84: the (bits, step) of the centre cell and of
    its eight neighbours, in membersOfAllNeighbors's order; None for a neighbour the
    search area cannot reach."""
    min_lon, min_lat, max_lon, max_lat = shape.bounding_box()
    steps = estimate_steps_by_radius(shape.radius_meters(), shape.latitude)
    bits = encode(shape.longitude, shape.latitude, steps) or 0
    cells = {name: _moved(bits, steps, dx, dy) for name, (dx, dy) in _DIRECTIONS.items()}
    # A cell next to the area's edge may not reach far enough: one step coarser then.
    if steps > 1 and (decode(cells["north"], steps).lat_max < max_lat or
                      decode(cells["south"], steps).lat_min > min_lat or
                      decode(cells["east"], steps).lon_max < max_lon or
                      decode(cells["west"], steps).lon_min > min_lon):
        steps -= 1
        bits = encode(shape.longitude, shape.latitude, steps) or 0
        cells = {name: _moved(bits, steps, dx, dy) for name, (dx, dy) in _DIRECTIONS.items()}
    wanted = dict.fromkeys(cells, True)
    if steps >= 2:  # leave out the neighbours beyond the area
        area = decode(bits, steps)
        for outside, names in ((area.lat_min < min_lat, ("south", "south_west", "south_east")),
                               (area.lat_max > max_lat, ("north", "north_east", "north_west")),
                               (area.lon_min < min_lon, ("west", "south_west", "north_west")),
                               (area.lon_max > max_lon, ("east", "south_east", "north_east"))):
            if outside:
                for name in names:
                    wanted[name] = False
    return [(bits, steps)] + [(cells[name], steps) if wanted[name] else None
                              for name in _DIRECTIONS]


def score_range(bits: int, step: int) -> tuple[int, int]:
    """scoresOfGeoHashBox: the [min, max) scores of the points inside a cell."""
    return align52(bits, step), align52(bits + 1, step)


# ------------------------------------------------------------------ distances


def lat_distance(lat1: float, lat2: float) -> float:
    return EARTH_RADIUS_IN_METERS * math.fabs(deg_rad(lat2) - deg_rad(lat1))


def get_distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """geohashGetDistance: the haversine distance in metres."""
    lon1r, lon2r = deg_rad(lon1), deg_rad(lon2)
    v = math.sin((lon2r - lon1r) / 2)
    if v == 0.0:  # the same meridian: no trigonometry needed
        return lat_distance(lat1, lat2)
    lat1r, lat2r = deg_rad(lat1), deg_rad(lat2)
    u = math.sin((lat2r - lat1r) / 2)
    a = u * u + math.cos(lat1r) * math.cos(lat2r) * v * v
    return 2.0 * EARTH_RADIUS_IN_METERS * math.asin(math.sqrt(a))
