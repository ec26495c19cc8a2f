"""Geo commands (Redis's src/geo.c): positions kept in a sorted set, each member's
score its 52-bit geohash (see server.algorithms.geohash: the arithmetic). GEOADD is
a ZADD of those scores; the searches walk the score ranges of the cells around the
centre, as Redis does, and print distances and coordinates as Redis prints them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from protocol.reply import NullArray, Raw
from server.algorithms import geohash
from server.algorithms.doubles import string2d
from server.algorithms.longdouble import format_human
from server.commands.objects import read_key
from server.commands.zsets import add_scores, store_pairs
from server.errors import NOT_FLOAT, SYNTAX, CommandError, parse_int
from storage.datatypes import ZSet

UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}
BAD_MEMBER = "ERR could not decode requested zset member"


# ------------------------------------------------------------------ arguments


def _double(arg: bytes, error: str = NOT_FLOAT) -> float:
    """getDoubleFromObjectOrReply: Redis's string2d."""
    value = string2d(arg)
    if value is None:
        raise CommandError(error)
    return value


def parse_lonlat(longitude: bytes, latitude: bytes) -> tuple[float, float]:
    """extractLongLatOrReply: a position within geohash's limits."""
    lon, lat = _double(longitude), _double(latitude)
    if not (geohash.LON_MIN <= lon <= geohash.LON_MAX and
            geohash.LAT_MIN <= lat <= geohash.LAT_MAX):
        raise CommandError(f"ERR invalid longitude,latitude pair {lon:f},{lat:f}")
    return lon, lat


def parse_unit(arg: bytes) -> float:
    """extractUnitOrReply: metres per unit."""
    try:
        return UNITS[arg.lower()]
    except KeyError:
        raise CommandError("ERR unsupported unit provided. please use M, KM, FT, MI") from None


def _parse_radius(radius: bytes, unit: bytes) -> tuple[float, float]:
    value = _double(radius, "ERR need numeric radius")
    if value < 0:
        raise CommandError("ERR radius cannot be negative")
    return value, parse_unit(unit)


def _parse_box(width: bytes, height: bytes, unit: bytes) -> tuple[float, float, float]:
    w = _double(width, "ERR need numeric width")
    h = _double(height, "ERR need numeric height")
    if h < 0 or w < 0:
        raise CommandError("ERR height or width cannot be negative")
    return w, h, parse_unit(unit)


def _member_position(zset: ZSet, member: bytes) -> tuple[float, float]:
    score = zset.scores.get(member)
    if score is None:
        raise CommandError(BAD_MEMBER)
    return geohash.score_to_lonlat(score)


# ------------------------------------------------------------------ replies


def distance_text(distance: float) -> bytes:
    """addReplyDoubleDistance (fixedpoint_d2string, 4 decimals, llrint's rounding)."""
    units = round(distance * 10000.0)
    digits = str(abs(units)).rjust(5, "0")
    return ("-" if units < 0 else "").encode() + f"{digits[:-4]}.{digits[-4:]}".encode()


def coordinate(client, value: float):
    """addReplyHumanLongDouble: %.17Lf with the trailing zeros cut, a bulk string in
    RESP2 and a double in RESP3."""
    text = format_human(Fraction(value))
    return Raw(b",%b\r\n" % text) if client.resp3 else text


def _position_reply(client, score: float) -> list:
    longitude, latitude = geohash.score_to_lonlat(score)
    return [coordinate(client, longitude), coordinate(client, latitude)]


# ------------------------------------------------------------------ simple commands


def geoadd(client, argv: list[bytes]):
    """GEOADD key [NX|XX] [CH] longitude latitude member [...]: a ZADD of geohashes."""
    flags: set[bytes] = set()
    first = 2
    while first < len(argv) and argv[first].upper() in (b"NX", b"XX", b"CH"):
        flags.add(argv[first].upper())
        first += 1
    rest = argv[first:]
    if len(rest) % 3 or {b"NX", b"XX"} <= flags:
        raise CommandError(SYNTAX)
    pairs = []
    for j in range(0, len(rest), 3):
        longitude, latitude = parse_lonlat(rest[j], rest[j + 1])
        pairs.append((float(geohash.lonlat_to_score(longitude, latitude)), rest[j + 2]))
    if not pairs:  # what ZADD, given no pairs, answers
        raise CommandError(SYNTAX)
    return add_scores(client, argv[1], pairs, flags)


def geodist(client, argv: list[bytes]):
    """GEODIST key member1 member2 [unit]."""
    if len(argv) > 5:
        raise CommandError(SYNTAX)
    to_meters = parse_unit(argv[4]) if len(argv) == 5 else 1.0
    zset = read_key(client, argv[1], ZSet)
    if zset is None:
        return None
    first, second = zset.scores.get(argv[2]), zset.scores.get(argv[3])
    if first is None or second is None:
        return None
    distance = geohash.get_distance(*geohash.score_to_lonlat(first),
                                    *geohash.score_to_lonlat(second))
    return distance_text(distance / to_meters)


def geohash_(client, argv: list[bytes]):
    """GEOHASH key [member ...]: standard 11-character geohashes."""
    zset = read_key(client, argv[1], ZSet)
    scores = {} if zset is None else zset.scores
    return [None if (score := scores.get(member)) is None else geohash.geohash_string(score)
            for member in argv[2:]]


def geopos(client, argv: list[bytes]):
    """GEOPOS key [member ...]: [longitude, latitude] of each, or a null array."""
    zset = read_key(client, argv[1], ZSet)
    scores = {} if zset is None else zset.scores
    return [NullArray if (score := scores.get(member)) is None else
            _position_reply(client, score) for member in argv[2:]]


# ------------------------------------------------------------------ searches


@dataclass
class Search:
    """What a GEORADIUS* or GEOSEARCH* asks for, as georadiusGeneric parses it."""

    center: tuple[float, float] | None = None
    from_member: bool = False
    from_lonlat: bool = False
    conversion: float = 1.0
    radius: float | None = None
    box: tuple[float, float] | None = None
    with_dist: bool = False
    with_hash: bool = False
    with_coord: bool = False
    order: str | None = None  # "asc", "desc" or None
    any: bool = False
    count: int = 0  # 0: all
    store: bytes | None = None
    store_dist: bool = False

    def shape(self) -> geohash.Shape:
        assert self.center is not None  # every path to a search has read one
        longitude, latitude = self.center
        if self.box is not None:
            return geohash.Shape(longitude, latitude, self.conversion, None, *self.box)
        return geohash.Shape(longitude, latitude, self.conversion, self.radius)


def _parse_options(search: Search, argv: list[bytes], start: int, zset: ZSet | None,
                   kind: str) -> None:
    """The optional arguments from ``argv[start]``; ``kind`` is "radius" (GEORADIUS*
    with STORE), "radius_ro", "search" or "searchstore"."""
    is_search = kind.startswith("search")
    i = start
    while i < len(argv):
        option, left = argv[i].lower(), len(argv) - i - 1
        if option == b"withdist":
            search.with_dist = True
        elif option == b"withhash":
            search.with_hash = True
        elif option == b"withcoord":
            search.with_coord = True
        elif option == b"any":
            search.any = True
        elif option in (b"asc", b"desc"):
            search.order = option.decode()
        elif option == b"count" and left >= 1:
            search.count = parse_int(argv[i + 1])
            if search.count <= 0:
                raise CommandError("ERR COUNT must be > 0")
            i += 1
        elif option in (b"store", b"storedist") and left >= 1 and kind == "radius":
            search.store, search.store_dist = argv[i + 1], option == b"storedist"
            i += 1
        elif option == b"storedist" and kind == "searchstore":
            search.store_dist = True
        elif option == b"frommember" and left >= 1 and is_search and not search.from_lonlat:
            if zset is not None:  # none: the error for a missing key comes later
                search.center = _member_position(zset, argv[i + 1])
            search.from_member = True
            i += 1
        elif option == b"fromlonlat" and left >= 2 and is_search and not search.from_member:
            search.center = parse_lonlat(argv[i + 1], argv[i + 2])
            search.from_lonlat = True
            i += 2
        elif option == b"byradius" and left >= 2 and is_search and search.box is None:
            search.radius, search.conversion = _parse_radius(argv[i + 1], argv[i + 2])
            i += 2
        elif option == b"bybox" and left >= 3 and is_search and search.radius is None:
            width, height, search.conversion = _parse_box(argv[i + 1], argv[i + 2],
                                                          argv[i + 3])
            search.box = (width, height)
            i += 3
        else:
            raise CommandError(SYNTAX)
        i += 1


def _check(search: Search, name: bytes, kind: str) -> None:
    """The combinations georadiusGeneric refuses once every option is read."""
    if search.store is not None and (search.with_dist or search.with_hash or
                                     search.with_coord):
        what = "GEOSEARCHSTORE" if kind == "searchstore" else "STORE option in GEORADIUS"
        raise CommandError(f"ERR {what} is not compatible with WITHDIST, WITHHASH and "
                           f"WITHCOORD options")
    command = name.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    if kind.startswith("search") and not (search.from_member or search.from_lonlat):
        raise CommandError(f"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified "
                           f"for {command}")
    if kind.startswith("search") and search.radius is None and search.box is None:
        raise CommandError(f"ERR exactly one of BYRADIUS and BYBOX can be specified for "
                           f"{command}")
    if search.any and not search.count:
        raise CommandError("ERR the ANY argument requires COUNT argument")


@dataclass
class Found:
    member: bytes
    distance: float  # metres, until the reply divides it by the unit
    score: float
    longitude: float
    latitude: float


def find_points(zset: ZSet, shape: geohash.Shape, limit: int) -> list[Found]:
    """membersOfAllNeighbors: the members inside ``shape``, cell by cell in Redis's
    order (each cell's in score order), stopping at ``limit`` (0: none). As in
    Redis, a cell the same as the one looked at before it is skipped (the centre
    never counts as looked at: Redis tells "none yet" by index 0)."""
    cells = geohash.search_cells(shape)
    found: list[Found] = []
    last = 0
    for index, cell in enumerate(cells):
        if cell is None or (last and cell == cells[last]):
            continue
        if found and limit and len(found) >= limit:
            break
        low, high = geohash.score_range(*cell)
        start = zset.count_below(low, inclusive=False)
        stop = zset.count_below(high, inclusive=False)
        for score, member in zset.order.islice(start, stop):
            longitude, latitude = geohash.score_to_lonlat(score)
            distance = shape.distance_if_within(longitude, latitude)
            if distance is not None:
                found.append(Found(member, distance, score, longitude, latitude))
            if found and limit and len(found) >= limit:
                break
        last = index
    return found


def _search(client, argv: list[bytes], kind: str, by_member: bool = False):
    """Redis's georadiusGeneric. ``kind``: "radius" (GEORADIUS, GEORADIUSBYMEMBER),
    "radius_ro" (their _RO forms), "search" (GEOSEARCH), "searchstore"."""
    search = Search()
    source = 2 if kind == "searchstore" else 1
    zset = read_key(client, argv[source], ZSet)
    if kind == "searchstore":
        search.store, options_at = argv[1], 3
    elif kind == "search":
        options_at = 2
    elif by_member:
        options_at = 5
        if zset is not None:  # none: nothing more is read of the position
            search.center = _member_position(zset, argv[2])
            search.radius, search.conversion = _parse_radius(argv[3], argv[4])
    else:
        options_at = 6
        search.center = parse_lonlat(argv[2], argv[3])
        search.radius, search.conversion = _parse_radius(argv[4], argv[5])
    _parse_options(search, argv, options_at, zset, kind)
    _check(search, argv[0], kind)
    if zset is None:
        if search.store is not None:
            client.engine.delete(client.db, search.store)
            return 0
        return []
    if search.count and search.order is None and not search.any:
        search.order = "asc"  # the nearest COUNT, not any COUNT
    found = find_points(zset, search.shape(), search.count if search.any else 0)
    if not found and search.store is None:
        return []
    if search.order is not None:  # a stable sort, as glibc's qsort
        found.sort(key=lambda point: point.distance, reverse=search.order == "desc")
    if search.count:
        found = found[:search.count]
    for point in found:
        point.distance /= search.conversion
    if search.store is not None:
        return store_pairs(client, search.store,
                           [(point.distance if search.store_dist else point.score,
                             point.member) for point in found],
                           "geosearchstore" if kind.startswith("search") else "georadiusstore")
    return [_point_reply(client, search, point) for point in found]


def _point_reply(client, search: Search, point: Found):
    if not (search.with_dist or search.with_hash or search.with_coord):
        return point.member
    reply: list = [point.member]
    if search.with_dist:
        reply.append(distance_text(point.distance))
    if search.with_hash:
        reply.append(int(point.score))
    if search.with_coord:
        reply.append([coordinate(client, point.longitude), coordinate(client, point.latitude)])
    return reply


def georadius(client, argv: list[bytes]):
    """GEORADIUS key longitude latitude radius unit [WITH…] [COUNT n [ANY]] [ASC|DESC]
    [STORE key | STOREDIST key]."""
    return _search(client, argv, "radius")


def georadius_ro(client, argv: list[bytes]):
    return _search(client, argv, "radius_ro")


def georadiusbymember(client, argv: list[bytes]):
    return _search(client, argv, "radius", by_member=True)


def georadiusbymember_ro(client, argv: list[bytes]):
    return _search(client, argv, "radius_ro", by_member=True)


def geosearch(client, argv: list[bytes]):
    """GEOSEARCH key FROMMEMBER m | FROMLONLAT lon lat  BYRADIUS r unit | BYBOX w h unit
    [ASC|DESC] [COUNT n [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]."""
    return _search(client, argv, "search")


def geosearchstore(client, argv: list[bytes]):
    return _search(client, argv, "searchstore")


def georadius_keys(options_at: int) -> Callable[[list[bytes]], list[int]]:
    """GEORADIUS's and GEORADIUSBYMEMBER's keys as Redis 7.0's key specs find them: the
    key, then the argument after the first STORE and after the first STOREDIST that
    appear from ``options_at`` on (but not as the last argument)."""

    def positions(argv: list[bytes]) -> list[int]:
        keys = [1]
        for keyword in (b"store", b"storedist"):
            found = next((i for i in range(options_at, len(argv) - 1)
                          if argv[i].lower() == keyword), None)
            if found is not None:
                keys.append(found + 1)
        return keys

    return positions
