"""Filter and feature-map pictures as data: tiles where they belong, the weights as they are."""

import numpy as np

from lectarch.viz import filters, tiles


def test_mosaic_places_tile_k_at_row_k_div_cols_and_column_k_mod_cols_with_nan_gaps():
    t = np.stack([np.full((2, 3), k / 10) for k in range(5)])
    grid = tiles.mosaic(t, cols=2, gap=1)
    assert grid.shape == (3 * 3 - 1, 2 * 4 - 1)
    for k in range(5):
        r, c = divmod(k, 2)
        assert np.all(grid[3 * r:3 * r + 2, 4 * c:4 * c + 3] == np.float32(k / 10))
    assert np.isnan(grid[2]).all() and np.isnan(grid[:, 3]).all()  # gaps
    assert np.isnan(grid[6:8, 4:7]).all()  # the unused cell stays empty
    assert tiles.grid_shape(5) == (2, 3) and tiles.grid_shape(16) == (4, 4)


def test_filters_are_the_kernels_unscaled_rgb_for_three_channels_else_the_channel_mean():
    w = np.random.default_rng(0).normal(size=(11, 11, 3, 4))
    rgb = filters.filter_tiles(w)
    assert rgb.kind == "tiles" and rgb.signed and rgb.data.shape == (4, 11, 11, 3)
    np.testing.assert_allclose(rgb.data[2], w[:, :, :, 2], rtol=1e-6)
    grey = filters.filter_tiles(w[:, :, :2])
    np.testing.assert_allclose(grey.data[1], w[:, :, :2, 1].mean(axis=2), atol=1e-6)
    assert "4 filters of 11x11" in rgb.title and grey.panel_titles == ("0", "1", "2", "3")


def test_feature_maps_show_at_most_max_maps_channels_and_say_how_many_there_are():
    maps = np.random.default_rng(1).normal(size=(3, 3, 100))
    p = filters.feature_map_tiles(maps, "conv2")
    assert p.data.shape == (filters.MAX_MAPS, 3, 3) and "100 channels of 3x3" in p.title and p.signed
    np.testing.assert_array_equal(p.data[5], maps[:, :, 5].astype(np.float32))
    assert not filters.feature_map_tiles(np.abs(maps), "pool2").signed  # after a ReLU: a sequential map


def test_an_mlp_unit_weights_are_shaped_like_its_input():
    w_DxU = np.arange(64 * 3, dtype=np.float32).reshape(64, 3)
    shaped, how = filters.input_shaped(w_DxU, (64,))
    assert shaped.shape == (3, 8, 8) and how == "64 inputs as 8x8"
    np.testing.assert_array_equal(shaped[1].ravel(), w_DxU[:, 1])  # unit 1's weights, row-major like the pixels
    colour, _ = filters.input_shaped(np.ones((4 * 4 * 3, 2)), (4, 4, 3))
    assert colour.shape == (2, 4, 4)
