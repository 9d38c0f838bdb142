"""Datasets read as sequences: the same numbers in reading order, nothing copied, augmentation kept."""

import dataclasses

import grain
import numpy as np
import pytest

from lectarch.config import ConfigError
from lectarch.data import build_dataset, sequence_view
from lectarch.data.spec import DataSpec, Dataset
from tests.helpers import config


def test_sequential_digits_are_the_64_pixels_in_reading_order():
    flat = build_dataset(config("mlp_digits"))
    steps = build_dataset(config("cnn1d_digits"))
    assert steps.spec.input_shape == (64, 1)
    for i in (0, 7, 100):
        np.testing.assert_array_equal(steps.train[i]["inputs"][:, 0], flat.train[i]["inputs"])
        assert steps.eval[i]["targets"] == flat.eval[i]["targets"]


def test_image_rows_are_steps_of_width_times_channels():
    images = build_dataset(config("cnn_digits"))
    rows = build_dataset(config("cnn_digits", "data.as_sequence=rows"))
    assert rows.spec.input_shape == (8, 8)
    np.testing.assert_array_equal(rows.train[3]["inputs"], images.train[3]["inputs"][:, :, 0])


def _rgb_dataset(augment=None) -> Dataset:
    x = np.arange(2 * 4 * 5 * 3, dtype=np.float32).reshape(2, 4, 5, 3)
    source = grain.MapDataset.source([{"inputs": xi, "targets": np.int32(0)} for xi in x])
    return Dataset(DataSpec((4, 5, 3), 2), source, source, augment=augment)


def test_steps_and_rows_of_an_rgb_image_follow_numpy_reshape():
    ds = _rgb_dataset()
    x = ds.train[1]["inputs"]
    assert sequence_view.view(ds, "steps").train[1]["inputs"].tolist() == x.reshape(20, 3).tolist()
    assert sequence_view.view(ds, "rows").eval[1]["inputs"].tolist() == x.reshape(4, 15).tolist()
    assert sequence_view.view(ds, "rows").spec.input_shape == (4, 15)
    assert sequence_view.view(ds, "none") is ds


def test_augmentation_still_sees_images_and_its_output_is_reshaped():
    seen = []

    def flip(element, rng):
        seen.append(element["inputs"].shape)
        return {**element, "inputs": element["inputs"][:, ::-1]}

    ds = sequence_view.view(_rgb_dataset(flip), "rows")
    x = ds.train[0]["inputs"]
    assert x.shape == (4, 5, 3)  # the pipeline augments first ...
    out = ds.augment(ds.train[0], np.random.default_rng(0))
    assert seen == [(4, 5, 3)] and out["inputs"].shape == (4, 15)  # ... then reads rows
    np.testing.assert_array_equal(out["inputs"], x[:, ::-1].reshape(4, 15))
    assert dataclasses.replace(ds).spec.input_shape == (4, 15)


def test_rows_of_a_vector_are_a_one_line_error():
    with pytest.raises(ConfigError, match="as_sequence='rows'") as e:
        build_dataset(config("mlp_digits", "data.as_sequence=rows"))
    assert "\n" not in str(e.value)


def test_a_split_may_be_a_plain_list_read_the_same_as_a_grain_source():
    """The Dataset contract takes any sequence of records: a list gives the view and the training
    stream element for element what the same records as a ``grain.MapDataset`` give."""
    from lectarch.data import pipeline

    as_grain = _rgb_dataset()
    records = [as_grain.train[i] for i in range(len(as_grain.train))]
    as_list = Dataset(as_grain.spec, records, records)
    for mode in ("steps", "rows"):
        a, b = sequence_view.view(as_list, mode), sequence_view.view(as_grain, mode)
        assert isinstance(a.train, sequence_view.Mapped) and len(a.train) == len(b.train) == 2
        for i in range(2):
            np.testing.assert_array_equal(a.eval[i]["inputs"], b.eval[i]["inputs"])
        stream_a, stream_b = pipeline.train_stream(a, seed=3), pipeline.train_stream(b, seed=3)
        for i in range(6):
            np.testing.assert_array_equal(stream_a[i]["inputs"], stream_b[i]["inputs"])
