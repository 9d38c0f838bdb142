"""TFDS image datasets (mnist, fashion_mnist, cifar10, imagenette, imagenet2012, ...) for CNNs.

Read through ``tfds.data_source`` (array_record files, random access, no TensorFlow: images arrive
decoded as uint8 ``H x W x C``), then, per element, all configurable under ``config.data``:

- train: resize the shorter side to ``resize`` (0: keep), pad by ``crop_padding`` (CIFAR-style),
  random ``image_size`` crop, random horizontal flip, scale to [0, 1], normalise ``(x - mean) / std``;
- eval: resize the shorter side to ``resize``, centre ``image_size`` crop, scale, normalise.

Decoding and resizing are deterministic maps over the split; the random crop and flip are the
dataset's ``augment``, which ``lectarch.data.pipeline`` applies after the seeded shuffle, so every
epoch sees fresh crops that are still a pure function of (seed, position). A dataset that is not
prepared on this machine is a ConfigError saying how to prepare it; nothing is downloaded.
"""

import grain
import ml_collections
import numpy as np

from lectarch.config.errors import ConfigError
from lectarch.config.rules import NON_NEGATIVE_INT, POSITIVE, Each, OneOf, Range
from lectarch.data.spec import DataSpec, Dataset
from lectarch.data.tfds_source import feature_info, open_source

BOOL = OneOf((True, False))
CONFIG_RULES = {
    "image_size": NON_NEGATIVE_INT,
    "resize": NON_NEGATIVE_INT,
    "crop_padding": NON_NEGATIVE_INT,
    "random_crop": BOOL,
    "random_flip": BOOL,
    "mean": Each(Range(0, 1)),
    "std": Each(POSITIVE),
    "as_sequence": OneOf(("none", "steps", "rows")),
}

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def default_config(tfds_name: str = "cifar10") -> ml_collections.ConfigDict:
    d = ml_collections.ConfigDict()
    d.name = "tfds_images"
    d.tfds_name = tfds_name
    d.train_split = "train"
    d.eval_split = "test"  # imagenette / imagenet2012: "validation"
    d.data_dir = ""  # "": TFDS's default (~/tensorflow_datasets or $TFDS_DATA_DIR)
    d.input_key = "image"
    d.target_key = "label"
    d.image_size = 0  # side of the square images the model sees; 0: the dataset's own (fixed) size
    d.resize = 0  # shorter side resized to this first (e.g. 256 for a 224 crop); 0: no resize
    d.crop_padding = 0  # pixels of zeros around the image before the random crop (CIFAR: 4)
    d.random_crop = True  # train: random crop (eval always takes the centre)
    d.random_flip = True  # train: horizontal flip with probability 1/2
    d.mean = ()  # per channel, after scaling to [0, 1]; () = no normalisation
    d.std = ()
    d.as_sequence = "none"  # rows: H steps of W*C features (sequential MNIST by rows); steps: pixel by pixel
    return d


def input_shape(cfg: ml_collections.ConfigDict) -> tuple[int, int, int] | None:
    """``(H, W, C)`` from the config alone (``image_size`` and the channels of ``mean``), or ``None``
    when only the dataset's metadata knows it (``lectarch.data.input_shape_of``)."""
    return (cfg.image_size, cfg.image_size, len(cfg.mean)) if cfg.image_size and cfg.mean else None


def validate_config(cfg: ml_collections.ConfigDict) -> None:
    d = cfg.data
    if len(d.mean) != len(d.std):
        raise ConfigError(f"config.data.mean={tuple(d.mean)} and config.data.std={tuple(d.std)} must have the "
                          f"same length (one value per channel, or both empty)")
    if d.resize and d.image_size and d.resize < d.image_size:
        raise ConfigError(f"config.data.resize={d.resize} is out of range: must be 0 or >= "
                          f"config.data.image_size={d.image_size}")


# ---------------------------------------------------------------------------------------------
# Pure per-image functions (numpy in, numpy out).


def resize_shorter_side(image_HxWxC: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize so that ``min(H, W) == size``, keeping the aspect ratio (uint8 stays uint8)."""
    from PIL import Image

    h, w = image_HxWxC.shape[:2]
    if size == 0 or min(h, w) == size:
        return image_HxWxC
    scale = size / min(h, w)
    new_hw = (max(size, round(h * scale)), max(size, round(w * scale)))
    channels = image_HxWxC.shape[2]
    img = Image.fromarray(image_HxWxC[:, :, 0] if channels == 1 else image_HxWxC)
    out = np.asarray(img.resize((new_hw[1], new_hw[0]), Image.Resampling.BILINEAR))
    return out[:, :, None] if channels == 1 else out


def pad(image_HxWxC: np.ndarray, p: int) -> np.ndarray:
    return np.pad(image_HxWxC, ((p, p), (p, p), (0, 0))) if p else image_HxWxC


def crop(image_HxWxC: np.ndarray, top: int, left: int, size: int) -> np.ndarray:
    return image_HxWxC[top:top + size, left:left + size]


def center_crop(image_HxWxC: np.ndarray, size: int) -> np.ndarray:
    h, w = image_HxWxC.shape[:2]
    return crop(image_HxWxC, (h - size) // 2, (w - size) // 2, size)


def random_crop(image_HxWxC: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    h, w = image_HxWxC.shape[:2]
    return crop(image_HxWxC, int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1)), size)


def normalise(image_HxWxC: np.ndarray, mean: tuple, std: tuple) -> np.ndarray:
    """uint8 -> [0, 1] floats, then ``(x - mean) / std`` per channel when given."""
    x = image_HxWxC.astype(np.float32) / 255.0 if image_HxWxC.dtype == np.uint8 else image_HxWxC.astype(np.float32)
    if mean:
        x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return x


# ---------------------------------------------------------------------------------------------


def _check_size(image: np.ndarray, size: int, name: str) -> None:
    if min(image.shape[:2]) < size:
        raise ValueError(f"{name}: an image of {image.shape[:2]} is smaller than config.data.image_size={size}; "
                         f"set config.data.resize >= {size}")


def build(cfg: ml_collections.ConfigDict, seed: int) -> Dataset:
    del seed  # shuffling and augmentation are seeded by the pipeline
    splits = {s: open_source(cfg.tfds_name, s, cfg.data_dir) for s in (cfg.train_split, cfg.eval_split)}
    shape, num_classes = feature_info(cfg.tfds_name, cfg.data_dir, cfg.input_key, cfg.target_key)
    channels = shape[-1]
    size = cfg.image_size or (shape[0] if shape[0] == shape[1] and shape[0] else 0)
    if not size:
        raise ConfigError(f"TFDS dataset {cfg.tfds_name!r} has images of varying size {shape}: "
                          f"set config.data.image_size (and config.data.resize)")
    if cfg.mean and len(cfg.mean) != channels:
        raise ConfigError(f"config.data.mean has {len(cfg.mean)} values but {cfg.tfds_name!r} images have "
                          f"{channels} channels")
    mean, std = tuple(cfg.mean), tuple(cfg.std)
    augment_train = cfg.random_crop or cfg.random_flip

    def decode(record: dict) -> tuple[np.ndarray, np.ndarray]:
        image = np.asarray(record[cfg.input_key])
        image = image[:, :, None] if image.ndim == 2 else image
        return resize_shorter_side(image, cfg.resize), np.asarray(record[cfg.target_key], np.int32)

    def eval_element(record: dict) -> dict:
        image, label = decode(record)
        _check_size(image, size, cfg.tfds_name)
        return {"inputs": normalise(center_crop(image, size), mean, std), "targets": label}

    def train_element(record: dict) -> dict:
        if not augment_train:
            return eval_element(record)
        image, label = decode(record)
        image = pad(image, cfg.crop_padding)
        _check_size(image, size, cfg.tfds_name)
        return {"inputs": image, "targets": label}

    def augment(element: dict, rng: np.random.Generator) -> dict:
        image = element["inputs"]
        image = random_crop(image, size, rng) if cfg.random_crop else center_crop(image, size)
        if cfg.random_flip and rng.random() < 0.5:
            image = image[:, ::-1]
        return {"inputs": normalise(np.ascontiguousarray(image), mean, std), "targets": element["targets"]}

    return Dataset(spec=DataSpec(input_shape=(size, size, channels), num_outputs=num_classes),
                   train=grain.MapDataset.source(splits[cfg.train_split]).map(train_element),
                   eval=grain.MapDataset.source(splits[cfg.eval_split]).map(eval_element),
                   augment=augment if augment_train else None, name=cfg.tfds_name)
