"""Datasets: one contract (``lectarch.data.spec.Dataset``), one registry, one pipeline.

A dataset module, built in (``DATASETS``) or named by its module path in ``config.data.name``, exposes
``build(data_cfg, seed) -> Dataset``, and optionally ``CONFIG_RULES`` and ``validate_config`` as
model modules do, and ``input_shape(data_cfg)`` (one input's shape from the config alone, or None)
for commands that need shapes without reading data. Its splits are sequences (a list, or a
``grain.MapDataset``) of dicts with ``inputs`` and ``targets``.
"""

import types

import ml_collections

from lectarch.config.modules import Contract, resolve
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


# What every dataset module keeps; a module that does not is refused in one line naming this.
CONTRACT = Contract("data", ("data_cfg", "seed"), "a lectarch.data.spec.Dataset",
                    check=lambda d: None if isinstance(d, Dataset) else f"it returned {type(d).__name__}, not a Dataset")


def dataset_module(name: str) -> types.ModuleType:
    return resolve("data", name, DATASETS, CONTRACT)


def input_shape_of(cfg: ml_collections.ConfigDict) -> tuple[int, ...]:
    """The shape of one input: from the config alone where the dataset module can say it (its optional
    ``input_shape(data_cfg)``, e.g. an image size and channel count in the config), else from the
    built dataset (which may read its data). A sequence view (``data.as_sequence``) is applied."""
    module = dataset_module(cfg.data.name)
    shape = module.input_shape(cfg.data) if hasattr(module, "input_shape") else None
    if shape is None or cfg.data.get("as_sequence", "none") != "none":
        return tuple(build_dataset(cfg).spec.input_shape)
    return tuple(shape)


def build_dataset(cfg: ml_collections.ConfigDict) -> Dataset:
    from lectarch.data import sequence_view

    dataset = dataset_module(cfg.data.name).build(cfg.data, cfg.seed)
    return sequence_view.view(dataset, cfg.data.get("as_sequence", "none"))


__all__ = ["DATASETS", "DataSpec", "Dataset", "build_dataset", "dataset_module", "input_shape_of"]
