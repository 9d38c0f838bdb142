"""The lecture's AlexNet on ImageNet (ILSVRC 2012, 1000 classes, 1.28M train / 50k validation images).

Run:      lectarch train --config experiments/configs/alexnet_imagenet2012.py --workdir runs/alexnet_imagenet
          (the same model, data pipeline and optimiser as alexnet_imagenette.py; bf16 on GPU)
Data:     TFDS ``imagenet2012`` prepared as array_record from the manually downloaded ILSVRC tars
          (``tfds build imagenet2012 --manual_dir=... --file_format=array_record``); nothing is
          downloaded at run time, and a missing dataset is an error saying this.
Runtime:  90 epochs, ~450k steps of batch 256. On one H100 the training step alone runs at tens of
          thousands of images per second (python -m experiments.bench), so the input pipeline (JPEG
          decoding) sets the pace. Not for a CPU.
Expected: not measured yet. The original AlexNet reached ~57% top-1 / 80% top-5 (Krizhevsky et al.
          2012); this 6-convolution variant of the slide lands in the same region. A lead only.
"""

import pathlib

from lectarch.config.load import read_config_file

TRAIN_IMAGES = 1_281_167


def get_config():
    c = read_config_file(pathlib.Path(__file__).with_name("alexnet_imagenette.py"))
    c.batch_size = 256
    c.eval_batch_size = 256
    c.num_steps = 90 * (TRAIN_IMAGES // c.batch_size)
    c.learning_rate = 0.02
    c.schedule.warmup_steps = 2500
    c.eval_every = 5000
    c.checkpoint_every = 5000
    c.model.dtype = "bfloat16"  # for the accelerator this needs; --config.model.dtype=float32 on CPU
    c.data.tfds_name = "imagenet2012"
    return c
