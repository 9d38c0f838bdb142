"""Datasets: one contract (``lectarch.data.spec.Dataset``), one registry, one pipeline.

A dataset module ``lectarch/data/<file>.py`` registered in ``DATASETS`` exposes
``build(data_cfg, seed) -> Dataset``, and optionally ``CONFIG_RULES`` and ``validate_config`` as
model modules do. Its splits are ``grain.MapDataset``s of dicts with ``inputs`` and ``targets``.
"""

import importlib
import types

import ml_collections

from lectarch.data.spec import DataSpec, Dataset

# config.data.name -> module that builds it. Add one line per new dataset.
DATASETS = {
    "digits": "lectarch.data.digits",
    "tfds": "lectarch.data.tfds_source",
}


def dataset_module(name: str) -> types.ModuleType:
    return importlib.import_module(DATASETS[name])


def build_dataset(cfg: ml_collections.ConfigDict) -> Dataset:
    return dataset_module(cfg.data.name).build(cfg.data, cfg.seed)


__all__ = ["DATASETS", "DataSpec", "Dataset", "build_dataset", "dataset_module"]
