"""Filter grids and feature-map pictures: tiles where they belong, values in [0, 1]."""

import numpy as np

from lectarch.viz import filters


def test_tile_grid_places_tile_k_at_row_k_div_cols_and_column_k_mod_cols():
    tiles = [np.full((2, 3), k / 10) for k in range(5)]
    grid = filters.tile_grid(tiles, cols=2, gap=1)
    assert grid.shape == (3 * 3 + 1, 2 * 4 + 1)
    for k in range(5):
        r, c = divmod(k, 2)
        assert np.all(grid[1 + 3 * r:3 + 3 * r, 1 + 4 * c:4 + 4 * c] == k / 10)
    assert np.all(grid[1 + 3 * 2:3 + 3 * 2, 1 + 4:4 + 4] == 1.0)  # the unused cell stays background


def test_rgb_filters_keep_colour_and_every_tile_spans_zero_to_one():
    w = np.random.default_rng(0).normal(size=(11, 11, 3, 4))
    grid = filters.filter_grid(w, min_tile=11)
    assert grid.shape == (2 * 13 + 2, 2 * 13 + 2, 3) and 0 <= grid.min() and grid.max() <= 1
    first = grid[2:13, 2:13]
    np.testing.assert_allclose(first, filters.normalise(w[:, :, :, 0]))


def test_feature_maps_show_at_most_max_maps_enlarged_tiles():
    maps = np.random.default_rng(1).normal(size=(3, 3, 100))
    grid = filters.feature_map_grid(maps, max_maps=9, min_tile=12)
    assert grid.shape == (3 * 14 + 2, 3 * 14 + 2)  # 9 tiles of 3x3 enlarged 4x, gap 2
    assert grid.min() >= 0 and grid.max() <= 1
    assert filters.normalise(np.ones((2, 2))).tolist() == [[0.5, 0.5], [0.5, 0.5]]
