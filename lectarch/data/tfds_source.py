"""Any TFDS dataset through ``tfds.data_source`` (array_record files, random access, no TensorFlow).

Elements ``{input_key: ..., target_key: ...}`` become ``{"inputs", "targets"}``; images are
scaled to [0, 1] floats. Richer image pipelines (resize, crop, flip) live in
``lectarch.data.images``. A dataset that is not prepared on this machine is a clear error saying
how to prepare it: nothing is downloaded at run time.
"""

import grain
import ml_collections
import numpy as np

from lectarch.config.errors import ConfigError
from lectarch.data.spec import DataSpec, Dataset


def default_config(tfds_name: str = "mnist") -> ml_collections.ConfigDict:
    d = ml_collections.ConfigDict()
    d.name = "tfds"
    d.tfds_name = tfds_name
    d.train_split = "train"
    d.eval_split = "test"
    d.data_dir = ""  # "": TFDS's default (~/tensorflow_datasets or $TFDS_DATA_DIR)
    d.input_key = "image"
    d.target_key = "label"
    return d


def open_source(tfds_name: str, split: str, data_dir: str = ""):
    """``tfds.data_source`` for one split, or a ConfigError that says how to prepare it."""
    import tensorflow_datasets as tfds

    try:
        return tfds.data_source(tfds_name, split=split, data_dir=data_dir or None, download=False)
    except Exception as e:  # noqa: BLE001 - TFDS raises several types for "not prepared"
        where = data_dir or "the default TFDS data_dir (~/tensorflow_datasets or $TFDS_DATA_DIR)"
        raise ConfigError(
            f"TFDS dataset {tfds_name!r} split {split!r} is not prepared in {where} "
            f"({type(e).__name__}); prepare it on a machine with internet access with "
            f"`tfds build {tfds_name} --file_format=array_record` (or "
            f"tfds.builder({tfds_name!r}).download_and_prepare(file_format='array_record')) "
            f"and copy the folder, or set --config.data.data_dir") from None


def feature_info(tfds_name: str, data_dir: str, input_key: str, target_key: str) -> tuple[tuple[int, ...], int]:
    import tensorflow_datasets as tfds

    info = tfds.builder(tfds_name, data_dir=data_dir or None).info
    shape = tuple(info.features[input_key].shape)
    return shape, int(info.features[target_key].num_classes)


def to_element(record: dict, input_key: str, target_key: str) -> dict:
    x = np.asarray(record[input_key])
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    return {"inputs": x, "targets": np.asarray(record[target_key], np.int32)}


def build(cfg: ml_collections.ConfigDict, seed: int) -> Dataset:
    del seed
    splits = {s: open_source(cfg.tfds_name, s, cfg.data_dir) for s in (cfg.train_split, cfg.eval_split)}
    shape, num_classes = feature_info(cfg.tfds_name, cfg.data_dir, cfg.input_key, cfg.target_key)

    def wrap(src):
        return grain.MapDataset.source(src).map(lambda r: to_element(r, cfg.input_key, cfg.target_key))

    return Dataset(spec=DataSpec(input_shape=shape, num_outputs=num_classes),
                   train=wrap(splits[cfg.train_split]), eval=wrap(splits[cfg.eval_split]),
                   name=cfg.tfds_name)
