"""The lecture's AlexNet on Imagenette (10 ImageNet classes, ~9.5k train / 3.9k validation images).

Run:      lectarch train --config experiments/configs/alexnet_imagenette.py --workdir runs/alexnet_imagenette
          (GPU: add --config.model.dtype=bfloat16 --config.batch_size=256)
Data:     TFDS ``imagenette`` prepared as array_record (nothing is downloaded at run time); without
          it the command stops with the line that prepares it: on a machine with internet access
          ``tfds build imagenette --file_format=array_record``, then copy ~/tensorflow_datasets
          (or pass --config.data.data_dir).
Runtime:  GPU: minutes (not measured yet). 2-core CPU: a training step of 8 images at 224 takes
          0.35-1.9 s (python -m experiments.bench, quiet vs loaded machine), i.e. roughly 10-40 minutes
          per epoch of 9,469 images, 30 epochs: use the CPU only for the smoke test below.
Expected: not measured yet (run the command above with the prepared data). From scratch, AlexNet-sized
          networks usually reach roughly 70-80% validation accuracy on Imagenette in ~30 epochs;
          treat that as a lead, not a result.
Smoke:    the same pipeline end to end on tfds.testing.mock_data at 63x63 (the smallest size the
          slide's layers fit): tests/models/test_alexnet.py.
Receptive fields: lectarch receptive-field --config experiments/configs/alexnet_imagenette.py
"""

from lectarch.config import base_config
from lectarch.data.images import IMAGENET_MEAN, IMAGENET_STD
from lectarch.data.images import default_config as images
from lectarch.models.alexnet import default_config as alexnet

TRAIN_IMAGES = 9469


def get_config():
    c = base_config()
    c.batch_size = 128
    c.eval_batch_size = 128
    epochs = 30
    c.num_steps = epochs * (TRAIN_IMAGES // c.batch_size)
    c.learning_rate = 0.02
    c.optimizer.name = "momentum"
    c.optimizer.momentum = 0.9
    c.optimizer.weight_decay = 5e-4
    c.schedule.name = "warmup_cosine"
    c.schedule.warmup_steps = 200
    c.log_every = 20
    c.eval_every = 500
    c.checkpoint_every = 500
    c.model = alexnet()
    c.model.dropout = 0.5
    c.model.dtype = "float32"  # bfloat16 on GPU; float32 is faster on CPU (python -m experiments.bench)
    c.data = images("imagenette")
    c.data.eval_split = "validation"
    c.data.image_size = 224
    c.data.resize = 256  # shorter side, then a random (train) or centre (eval) 224 crop
    c.data.random_crop = True
    c.data.random_flip = True
    c.data.mean = IMAGENET_MEAN
    c.data.std = IMAGENET_STD
    return c
