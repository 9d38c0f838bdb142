"""Datasets: one contract (``lectarch.data.spec.Dataset``), one registry, one pipeline.

A dataset module, built in (``DATASETS``) or named by its module path in ``config.data.name``, exposes
``build(data_cfg, seed) -> Dataset``, and optionally ``CONFIG_RULES`` and ``validate_config`` as
model modules do. Its splits are ``grain.MapDataset``s of dicts with ``inputs`` and ``targets``.
"""

import types

import ml_collections

from lectarch.config.modules import resolve
from lectarch.data.spec import DataSpec, Dataset

# Built-in config.data.name -> module that builds it; any other name is imported as a module path.
DATASETS = {
    "seq2seq_tasks": "lectarch.data.seq2seq_tasks",
    "translation": "lectarch.data.translation",
    "digits": "lectarch.data.digits",
    "adding": "lectarch.data.sequence_tasks",
    "copy_memory": "lectarch.data.sequence_tasks",
    "temporal_order": "lectarch.data.sequence_tasks",
    "counting": "lectarch.data.sequence_tasks",
    "text": "lectarch.data.text",
    "tfds": "lectarch.data.tfds_source",
    "tfds_images": "lectarch.data.images",
}


def dataset_module(name: str) -> types.ModuleType:
    return resolve("data", name, DATASETS)


def build_dataset(cfg: ml_collections.ConfigDict) -> Dataset:
    from lectarch.data import sequence_view

    dataset = dataset_module(cfg.data.name).build(cfg.data, cfg.seed)
    return sequence_view.view(dataset, cfg.data.get("as_sequence", "none"))


__all__ = ["DATASETS", "DataSpec", "Dataset", "build_dataset", "dataset_module"]
