"""A deep, narrow MLP on the digits for the depth experiment: gradient flow through 12 layers.

Run:      python -m experiments.depth --workdir runs/depth      (sigmoid, tanh and ReLU; plots + CSV)
          lectarch train --config experiments/configs/deep_mlp.py --workdir runs/deep_mlp_relu
          lectarch gradflow --config experiments/configs/deep_mlp.py --config.model.activation=sigmoid --out runs/gradflow_sigmoid
Runtime:  about 35 s for experiments/depth.py on a (busy) 2-core CPU (3 activations x 600 steps);
          one `lectarch train` about 10 s.
Expected: at initialisation ||dL/dW|| of the output layer over that of the first hidden layer is
          about 3e7 for sigmoid (sigma' <= 1/4 per layer), about 1.4 for tanh and 16 for ReLU;
          after 600 SGD steps (lr 0.05) test accuracy is about 0.97 (tanh), 0.67 (ReLU) and 0.10
          (sigmoid: chance, its first layers never move). Measured: docs/inspection.md
          section "Experiments".
"""

from lectarch.config import base_config
from lectarch.data.digits import default_config as digits
from lectarch.models.mlp import default_config as mlp


def get_config():
    c = base_config()
    c.num_steps = 600
    c.batch_size = 64
    c.learning_rate = 0.05
    c.optimizer.name = "sgd"  # plain SGD: the step each layer takes is its raw gradient
    c.log_every = 50
    c.eval_every = 200
    c.checkpoint_every = 600
    c.log_grad_norms = True  # grad_norm/hidden.<l> in metrics.jsonl and TensorBoard
    c.model = mlp()
    c.model.depth = 12
    c.model.width = 64
    c.model.activation = "relu"  # relu | tanh | sigmoid (the depth experiment runs all three)
    c.data = digits()
    return c
