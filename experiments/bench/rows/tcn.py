"""One TCN training step (adding problem) beside the same network in PyTorch (nn.Conv1d) and beside
lectarch's LSTM with the same number of parameters on the same batch.

Every row computes one SGD step of MSE regression on a batch of the adding problem's shape
(B x T x 2 -> one number per sequence). TCN: ``levels`` residual blocks of two dilated causal
convolutions (kernel 3, dilations 1, 2, 4, ...), weight normalisation, ReLU, a linear head on the
last step; PyTorch builds the same blocks from ``nn.Conv1d`` (left padding ``d (k - 1)``) and
``torch.nn.utils.parametrizations.weight_norm``. The LSTM row (many-to-one, peepholes) has its
hidden size chosen so its parameter count is the TCN's, so the two rows compare the architectures
at equal size. CPU: B=32, T=400, 7 levels of 24 channels; GPU: B=256, T=1000, 8 levels of 64.
"""

import numpy as np

from experiments.bench.rows import Case, lectarch_step, quick, tiny


def _config(model: str, T: int, width: int, levels: int):
    from lectarch.config import base_config
    from lectarch.models.recurrent import default_config as recurrent
    from lectarch.models.tcn import default_config as tcn

    cfg = base_config()
    cfg.optimizer.name, cfg.learning_rate, cfg.objective = "sgd", 0.01, "regression"
    if model == "tcn":
        cfg.model = tcn()
        cfg.model.channels, cfg.model.levels = width, levels
    else:
        cfg.model = recurrent("lstm")
        cfg.model.hidden = width
    return cfg


def _num_params(cfg, T: int) -> int:
    import jax
    from flax import nnx

    from lectarch.data.spec import DataSpec
    from lectarch.models import build_model

    model = nnx.eval_shape(lambda: build_model(cfg, DataSpec((T, 2), 1), nnx.Rngs(0)))
    return sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))


def lstm_width_matching(T: int, channels: int, levels: int) -> int:
    """The LSTM hidden size whose parameter count is closest to the TCN's."""
    target = _num_params(_config("tcn", T, channels, levels), T)
    count = lambda h: _num_params(_config("lstm", T, h, levels), T)  # noqa: E731  (grows with h)
    lo, hi = 1, 8 * channels
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if count(mid) < target else (lo, mid)
    return min((max(lo - 1, 1), lo), key=lambda h: abs(count(h) - target))


def _lectarch(model: str, B: int, T: int, width: int, levels: int):
    def setup():

        from lectarch.data.spec import DataSpec
        from lectarch.train.objectives import regression
        from lectarch.train.state import init_state

        w = width if model == "tcn" else lstm_width_matching(T, width, levels)
        cfg = _config(model, T, w, levels)
        graphdef, state, tx = init_state(cfg, DataSpec((T, 2), 1))
        rng = np.random.default_rng(0)
        batch = {"inputs": rng.normal(size=(B, T, 2)).astype(np.float32),
                 "targets": rng.normal(size=(B,)).astype(np.float32)}
        return lectarch_step(cfg, graphdef, state, tx, regression, batch, kind="logging")

    return setup


def _torch(B: int, T: int, channels: int, levels: int, device: str = "cpu"):
    def setup():
        import torch
        from torch import nn
        from torch.nn.utils.parametrizations import weight_norm

        class Block(nn.Module):
            def __init__(self, cin, cout, d):
                super().__init__()
                self.pad = 2 * d
                self.conv1 = weight_norm(nn.Conv1d(cin, cout, 3, dilation=d))
                self.conv2 = weight_norm(nn.Conv1d(cout, cout, 3, dilation=d))
                self.down = nn.Conv1d(cin, cout, 1) if cin != cout else None

            def forward(self, x):
                h = torch.relu(self.conv1(nn.functional.pad(x, (self.pad, 0))))
                h = torch.relu(self.conv2(nn.functional.pad(h, (self.pad, 0))))
                return torch.relu(h + (x if self.down is None else self.down(x)))

        net = nn.Sequential(*[Block(2 if l == 0 else channels, channels, 2 ** l) for l in range(levels)]).to(device)
        head = nn.Linear(channels, 1).to(device)
        opt = torch.optim.SGD(list(net.parameters()) + list(head.parameters()), lr=0.01)
        x, y = torch.randn(B, 2, T, device=device), torch.randn(B, device=device)

        def step():
            opt.zero_grad(set_to_none=True)
            nn.functional.mse_loss(head(net(x)[:, :, -1])[:, 0], y).backward()
            opt.step()
            if device != "cpu":
                torch.cuda.synchronize()

        return step

    return setup


def cases(args) -> list[Case]:
    out = []
    for device, (B, T, C, L) in (("cpu", (8, 64, 16, 4) if quick(args) else (32, 400, 24, 7)),
                                 ("gpu", (4, 16, 8, 2) if tiny(args) else (256, 1000, 64, 8))):
        work = f"TCN adding B={B} T={T} {L} levels x {C} ch, k=3, weight norm, f32 SGD"
        out.append(Case(work, "lectarch", _lectarch("tcn", B, T, C, L), device=device))
        if device == "cpu":  # the PyTorch here is a CPU build
            out.append(Case(work, "PyTorch", _torch(B, T, C, L), device=device))
        out.append(Case(work, "lectarch LSTM, equal params", _lectarch("lstm", B, T, C, L), device=device,
                        repeats=3 if quick(args) else 5))
    return out
