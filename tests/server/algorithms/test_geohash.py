"""server.algorithms.geohash, the arithmetic of Redis's geo commands, checked against figures
Redis 7.0 gives (its documentation's examples and redis-server's replies)."""

from __future__ import annotations

import math
import random

import pytest

from server.algorithms import geohash
from server.commands.geo import distance_text

PALERMO, CATANIA = (13.361389, 38.115556), (15.087269, 37.502669)


def test_interleave_and_deinterleave_are_inverses():
    rng = random.Random(7)
    for _ in range(1000):
        even, odd = rng.getrandbits(32), rng.getrandbits(32)
        bits = geohash.interleave(even, odd)
        assert geohash.deinterleave(bits) == (even, odd)
        assert all((bits >> (2 * i)) & 1 == (even >> i) & 1 for i in range(32))
        assert all((bits >> (2 * i + 1)) & 1 == (odd >> i) & 1 for i in range(32))


def test_scores_positions_and_hashes_are_redis_s():
    assert geohash.lonlat_to_score(*PALERMO) == 3479099956230698
    assert geohash.lonlat_to_score(*CATANIA) == 3479447370796909
    assert geohash.score_to_lonlat(3479099956230698) == (13.361389338970184, 38.1155563954963)
    assert geohash.geohash_string(3479099956230698) == b"sqc8b49rny0"
    assert geohash.geohash_string(3479447370796909) == b"sqdtr74hyu0"


def test_a_position_round_trips_within_its_cell():
    rng = random.Random(11)
    for _ in range(500):
        lon, lat = rng.uniform(-180, 180), rng.uniform(geohash.LAT_MIN, geohash.LAT_MAX)
        back_lon, back_lat = geohash.score_to_lonlat(geohash.lonlat_to_score(lon, lat))
        assert abs(back_lon - lon) <= 360 / 2**26 and abs(back_lat - lat) <= 171 / 2**26


def test_positions_outside_the_limits_have_no_hash():
    assert geohash.encode(0, 85.06, 26) is None
    assert geohash.encode(180.0001, 0, 26) is None
    assert geohash.encode(180, 85.05112878, 26) is not None


def test_distances():
    # GEODIST Sicily Palermo Catania: between the positions their scores stand for
    metres = geohash.get_distance(*geohash.score_to_lonlat(3479099956230698),
                                  *geohash.score_to_lonlat(3479447370796909))
    assert distance_text(metres) == b"166274.1516"
    assert distance_text(metres / 1000) == b"166.2742"
    assert distance_text(0.0) == b"0.0000"
    assert distance_text(0.00004999) == b"0.0000" and distance_text(0.00005001) == b"0.0001"
    assert geohash.get_distance(10, 0, 10, 1) == geohash.lat_distance(0, 1)
    assert math.isclose(geohash.get_distance(0, 0, 180, 0), math.pi * 6372797.560856)


def test_scores_zadd_made_decode_as_the_x86_conversion_does():
    assert geohash.score_to_bits(-1.0) == 2**64 - 1
    assert geohash.score_to_bits(math.inf) == 0
    assert geohash.score_to_bits(-math.inf) == 2**63
    assert geohash.score_to_bits(2.0**63) == 2**63
    assert geohash.score_to_bits(2.0**64) == 0
    assert geohash.score_to_bits(0.9) == 0


@pytest.mark.parametrize("metres, latitude, steps", [
    (0, 0, 26), (1, 0, 24), (1000, 0, 14), (200_000, 0, 6), (200_000, 70, 5),
    (200_000, -81, 4), (1e9, 0, 1)])
def test_steps_by_radius(metres, latitude, steps):
    assert geohash.estimate_steps_by_radius(metres, latitude) == steps


def test_search_cells_are_the_centre_and_the_neighbours_the_area_reaches():
    shape = geohash.Shape(*PALERMO, conversion=1000.0, radius=200.0)
    cells = geohash.search_cells(shape)
    assert len(cells) == 9
    centre_bits, step = cells[0]
    centre = geohash.decode(centre_bits, step)
    assert centre.lon_min <= PALERMO[0] <= centre.lon_max
    assert centre.lat_min <= PALERMO[1] <= centre.lat_max
    height = centre.lat_max - centre.lat_min
    for cell, dy in zip(cells[1:], [1, -1, 0, 0, 1, 1, -1, -1], strict=True):
        if cell is not None:
            neighbour = geohash.decode(*cell)
            assert neighbour.lat_min == pytest.approx(centre.lat_min + dy * height)
    max_lon = shape.bounding_box()[2]
    # The centre cell reaches past the area's east edge: nothing east is looked at.
    assert centre.lon_max > max_lon and cells[3] is cells[5] is cells[7] is None
    assert None not in (cells[1], cells[2], cells[4])

