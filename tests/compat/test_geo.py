"""Geo commands, caskd against redis-server: scores, positions, geohashes, distances
and search results byte for byte in RESP2 and RESP3, with Redis's errors; then
random points and random searches over the whole globe (poles, the antimeridian,
tiny and huge radii and boxes)."""

from __future__ import annotations

import random

from tests.compat.test_strings import run

SICILY = ("GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669",
          "Catania", "12.758489", "38.788135", "edge1", "17.241510", "38.788135", "edge2")
WITH = ("WITHDIST", "WITHHASH", "WITHCOORD")


def test_add_and_read_positions(pair):
    run(pair,
        SICILY, ("ZRANGE", "Sicily", "0", "-1", "WITHSCORES"), ("OBJECT", "ENCODING", "Sicily"),
        ("GEOADD", "Sicily", "NX", "0", "0", "Palermo", "1", "1", "new"),
        ("GEOADD", "Sicily", "XX", "CH", "1", "2", "Palermo", "1", "1", "missing"),
        ("GEOADD", "Sicily", "CH", "XX", "1", "2", "Palermo"),
        ("GEOADD", "Sicily", "ch", "nx", "ch", "3", "3", "other"),
        ("GEOPOS", "Sicily", "Palermo", "Catania", "new", "nobody"),
        ("GEOPOS", "nokey", "a", "b"), ("GEOPOS", "Sicily"),
        ("GEOHASH", "Sicily", "Palermo", "Catania", "edge1", "nobody"), ("GEOHASH", "nokey", "a"),
        ("GEODIST", "Sicily", "Catania", "edge1"), ("GEODIST", "Sicily", "Catania", "edge1", "km"),
        ("GEODIST", "Sicily", "Catania", "edge1", "MI"), ("GEODIST", "Sicily", "Catania", "edge1",
                                                           "ft"),
        ("GEODIST", "Sicily", "Catania", "Catania"), ("GEODIST", "Sicily", "Catania", "nobody"),
        ("GEODIST", "nokey", "a", "b"), ("GEODIST", "Sicily", "a", "b", "parsec"),
        ("GEODIST", "Sicily", "a", "b", "km", "x"),
        ("GEOADD", "ends", "-180", "-85.05112878", "sw", "180", "85.05112878", "ne",
         "0", "0", "origin", "-0", "-0", "negzero", "179.9999999", "0.0000001", "tiny"),
        ("GEOPOS", "ends", "sw", "ne", "origin", "negzero", "tiny"),
        ("GEOHASH", "ends", "sw", "ne", "origin", "tiny"), ("GEODIST", "ends", "sw", "ne"))


def test_positions_of_scores_zadd_made(pair):
    """Members added by ZADD: GEOPOS decodes whatever score they have, as Redis does."""
    scores = ["0", "1", "-1", "4503599627370496", "9007199254740992", "1e20", "-1e20", "inf",
              "-inf", "0.5", "3479099956230698.5", "18446744073709551616", "-9.3e18"]
    run(pair,
        ("ZADD", "z", *[part for i, score in enumerate(scores) for part in (score, f"m{i}")]),
        ("GEOPOS", "z", *[f"m{i}" for i in range(len(scores))]),
        ("GEOHASH", "z", *[f"m{i}" for i in range(len(scores))]),
        ("GEODIST", "z", "m0", "m3"), ("GEODIST", "z", "m1", "m7", "km"),
        ("GEOSEARCH", "z", "FROMLONLAT", "0", "0", "BYRADIUS", "20000", "km", "ASC"))


def test_add_errors(pair):
    run(pair,
        ("GEOADD", "g", "1", "2"), ("GEOADD", "g", "1", "2", "m", "3"),
        ("GEOADD", "g", "NX", "XX", "1", "2", "m"), ("GEOADD", "g", "ch", "ch", "ch"),
        ("GEOADD", "g", "GT", "1", "2", "m"), ("GEOADD", "g", "x", "2", "m"),
        ("GEOADD", "g", "1", "y", "m"), ("GEOADD", "g", "181", "2", "m"),
        ("GEOADD", "g", "1", "86", "m"), ("GEOADD", "g", "-180.0000001", "0", "m"),
        ("GEOADD", "g", "1", "2", "ok", "200", "100", "bad"), ("EXISTS", "g"),
        ("GEOADD", "g", "inf", "0", "m"), ("GEOADD", "g", "nan", "0", "m"),
        ("GEOADD", "g", " 1", "0", "m"), ("GEOADD", "g", "1e400", "0", "m"),
        ("SET", "str", "v"), ("GEOADD", "str", "1", "2", "m"), ("GEOADD", "str", "1", "x", "m"),
        ("GEOPOS", "str", "m"), ("GEOHASH", "str", "m"), ("GEODIST", "str", "a", "b"),
        ("GEODIST", "str", "a", "b", "yard"), ("GEOADD", "g"), ("GEOPOS",), ("GEOHASH",))


def test_searches(pair):
    run(pair, SICILY,
        ("GEORADIUS", "Sicily", "15", "37", "200", "km"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", *WITH),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHCOORD", "DESC"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1", "DESC", "WITHDIST"),
        ("GEORADIUS", "Sicily", "15", "37", "400", "km", "COUNT", "2", "ANY"),
        ("GEORADIUS", "Sicily", "15", "37", "400", "km", "COUNT", "2", "ANY", "DESC"),
        ("GEORADIUS", "Sicily", "15", "37", "10", "m"),
        ("GEORADIUS", "Sicily", "15", "37", "0", "m"),
        ("GEORADIUS_RO", "Sicily", "15", "37", "100", "mi", "WITHDIST", "ASC"),
        ("GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "WITHDIST"),
        ("GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", "500000", "ft", "WITHHASH", "ASC"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "400", "400", "km", "ASC",
         *WITH),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "DESC",
         "COUNT", "3"),
        ("GEOSEARCH", "Sicily", "BYBOX", "1", "1", "KM", "FROMMEMBER", "Catania"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "0.0001", "m"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "0", "0", "m"),
        ("GEOSEARCH", "nokey", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"),
        ("GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "200", "km"),
        ("GEORADIUS", "nokey", "15", "37", "200", "km"),
        ("GEORADIUSBYMEMBER", "nokey", "x", "bad", "radius"))


def test_stores(pair):
    run(pair, SICILY,
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "near"),
        ("ZRANGE", "near", "0", "-1", "WITHSCORES"), ("OBJECT", "ENCODING", "near"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "dist"),
        ("ZRANGE", "dist", "0", "-1", "WITHSCORES"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "a", "STOREDIST", "b"),
        ("EXISTS", "a", "b"), ("ZRANGE", "b", "0", "-1", "WITHSCORES"),
        ("GEORADIUSBYMEMBER", "Sicily", "Palermo", "1", "km", "STORE", "near"),
        ("ZRANGE", "near", "0", "-1", "WITHSCORES"),
        ("GEORADIUS", "Sicily", "0", "0", "1", "km", "STORE", "near"), ("EXISTS", "near"),
        ("GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400",
         "km", "COUNT", "2"), ("ZRANGE", "dst", "0", "-1", "WITHSCORES"),
        ("GEOSEARCHSTORE", "dst", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "300", "km",
         "STOREDIST", "DESC"), ("ZRANGE", "dst", "0", "-1", "WITHSCORES"),
        ("SET", "str", "v"), ("EXPIRE", "str", "100"),
        ("GEOSEARCHSTORE", "str", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "m"),
        ("TTL", "str"), ("ZRANGE", "str", "0", "-1"),
        ("GEOSEARCHSTORE", "dst", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "m"),
        ("EXISTS", "dst"), ("SET", "dst", "v"),
        ("GEORADIUS", "nokey", "1", "1", "1", "m", "STORE", "dst"), ("EXISTS", "dst"),
        ("GEOSEARCHSTORE", "dst", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "m",
         "WITHDIST"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "x", "WITHCOORD"),
        ("GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "STORE", "x"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "m", "STOREDIST"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "m", "STORE", "x"))


def test_search_errors(pair):
    run(pair, SICILY, ("SET", "str", "v"),
        ("GEORADIUS", "str", "x", "37", "200", "km"), ("GEORADIUS", "Sicily", "x", "37", "1", "m"),
        ("GEORADIUS", "Sicily", "15", "90", "1", "m"),
        ("GEORADIUS", "Sicily", "15", "37", "x", "m"),
        ("GEORADIUS", "Sicily", "15", "37", "-1", "m"),
        ("GEORADIUS", "Sicily", "15", "37", "1", "y"),
        ("GEORADIUS", "Sicily", "15", "37", "1", "m", "COUNT"),
        ("GEORADIUS", "Sicily", "15", "37", "1", "m", "COUNT", "0"),
        ("GEORADIUS", "Sicily", "15", "37", "1", "m", "COUNT", "-3"),
        ("GEORADIUS", "Sicily", "15", "37", "1", "m", "COUNT", "x"),
        ("GEORADIUS", "Sicily", "15", "37", "1", "m", "ANY"),
        ("GEORADIUS", "Sicily", "15", "37", "1", "m", "BOGUS"),
        ("GEORADIUS", "Sicily", "15", "37", "1", "m", "STORE"),
        ("GEORADIUS", "nokey", "15", "37", "1", "m", "ANY"),
        ("GEORADIUS", "nokey", "15", "37", "1", "m", "FROMMEMBER", "x"),
        ("GEORADIUSBYMEMBER", "Sicily", "nobody", "1", "m"),
        ("GEORADIUSBYMEMBER", "Sicily", "Palermo", "1", "lightyear"),
        ("GEORADIUSBYMEMBER", "nokey", "x", "1", "m", "WITHDIST", "STORE", "d"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo"),
        ("GEOSEARCH", "Sicily", "BYRADIUS", "1", "m", "ASC"),
        ("geosearch", "Sicily", "BYRADIUS", "1", "m", "ASC"),
        ("GeoSearch", "Sicily", "FROMMEMBER", "Palermo", "COUNT", "1"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "nobody", "BYRADIUS", "1", "m"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "FROMLONLAT", "1", "1", "BYRADIUS",
         "1", "m"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "FROMMEMBER", "Palermo", "BYRADIUS",
         "1", "m"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "FROMMEMBER", "Catania", "BYRADIUS",
         "1", "m"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "m", "BYBOX", "1",
         "1", "m"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "1", "1", "m", "BYRADIUS",
         "1", "m"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "x", "1", "m"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "1", "x", "m"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "-1", "1", "m"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "1", "1", "au"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "1", "1"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "1", "BYRADIUS", "1", "m"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "500", "1", "BYRADIUS", "1", "m"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "m", "ANY"),
        ("GEOSEARCH", "str", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "m"),
        ("GEOSEARCHSTORE", "d", "str", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "m"),
        ("GEOSEARCHSTORE", "d", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "m",
         "WITHHASH"),
        ("GEOSEARCH", "nokey", "BYRADIUS", "1", "m"))


def test_key_positions(pair2):
    run(pair2,
        ("COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "2", "3", "m", "STORE", "d"),
        ("COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "2", "3", "m", "STORE", "d", "STOREDIST",
         "e"),
        ("COMMAND", "GETKEYS", "GEORADIUSBYMEMBER", "k", "m", "3", "m", "STOREDIST", "d"),
        ("COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "2", "3", "m"),
        ("COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "2", "3", "m", "STORE"),
        ("COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "2", "3", "m", "STORE", "d", "STORE",
         "e"),
        ("COMMAND", "GETKEYS", "GEORADIUSBYMEMBER", "k", "m", "3", "store", "STOREDIST", "x"),
        ("COMMAND", "GETKEYS", "GEOSEARCHSTORE", "d", "k", "FROMMEMBER", "m", "BYRADIUS", "1",
         "m"))


def _random_point(rng: random.Random) -> tuple[str, str]:
    """Anywhere, with more of them near the poles, the antimeridian and the equator."""
    where = rng.random()
    if where < 0.15:
        lat = rng.choice((-1, 1)) * rng.uniform(80, 85.05112878)
    elif where < 0.3:
        lat = rng.uniform(-1, 1)
    else:
        lat = rng.uniform(-85.05112878, 85.05112878)
    lon = rng.choice((-1, 1)) * rng.uniform(179, 180) if rng.random() < 0.15 else \
        rng.uniform(-180, 180)
    return f"{lon:.{rng.randint(0, 9)}f}", f"{lat:.{rng.randint(0, 9)}f}"


def _random_search(rng: random.Random, members: list[str]) -> tuple:
    unit = rng.choice(("m", "km", "mi", "ft", "KM"))
    size = 10 ** rng.uniform(-1, 7.3) / {"m": 1, "km": 1000, "KM": 1000, "mi": 1609.34,
                                         "ft": 0.3048}[unit]
    if rng.random() < 0.5:
        origin = ("FROMMEMBER", rng.choice(members))
    else:
        origin = ("FROMLONLAT", *_random_point(rng))
    shape = ("BYRADIUS", f"{size:.6g}", unit) if rng.random() < 0.5 else \
        ("BYBOX", f"{size:.6g}", f"{size * rng.uniform(0.1, 3):.6g}", unit)
    extra = [option for option in WITH if rng.random() < 0.4]
    extra.append(rng.choice(("ASC", "DESC")))
    if rng.random() < 0.3:
        extra += ["COUNT", str(rng.randint(1, 20)), *(("ANY",) if rng.random() < 0.5 else ())]
    return ("GEOSEARCH", "world", *origin, *shape, *extra)


def test_random_points_and_searches(pair):
    rng = random.Random(20260212)
    members = [f"p{i}" for i in range(400)]
    points = [part for member in members for part in (*_random_point(rng), member)]
    run(pair, ("GEOADD", "world", *points), ("ZRANGE", "world", "0", "-1", "WITHSCORES"),
        ("GEOPOS", "world", *members), ("GEOHASH", "world", *members),
        *[("GEODIST", "world", rng.choice(members), rng.choice(members),
           rng.choice(("m", "km", "mi", "ft"))) for _ in range(100)],
        *[_random_search(rng, members) for _ in range(300)])
