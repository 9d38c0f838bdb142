"""Random bad input, one property: the command ends with a documented exit code and at most one
error line, never a traceback, and a workdir the command only reads is left byte-identical.

Three sources of input, each fed to ``lectarch inspect --what grad --no-compile`` in this process
(it resolves the modules, builds the abstract run and traces the model and objective, and compiles
nothing): random ``--config.KEY=VALUE`` overrides on a trained workdir, random JSON configs, and
random misbehaving plug-in models.
"""

import itertools
import json
import sys
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.faults.common import MLP, TINY, error_lines, run_cli, snapshot

TINY_OVERRIDES = [a.removeprefix("--config.") for a in TINY]

DOCUMENTED = {0, 2, 3, 4}  # docs/faults.md
READ_ONLY = ["inspect", "--what", "grad", "--no-compile"]
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def assert_documented(code: int, stderr: str) -> None:
    assert code in DOCUMENTED, (code, stderr)
    assert "Traceback" not in stderr, stderr
    assert len(error_lines(stderr)) == (0 if code == 0 else 1), stderr


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A workdir as far as a command that reads its config sees it (nothing trained: kept fast)."""
    from lectarch.experiment import load_config

    path = tmp_path_factory.mktemp("property") / "run"
    (path / "checkpoints").mkdir(parents=True)
    (path / "config.json").write_text(load_config(MLP, TINY_OVERRIDES).to_json(indent=2) + "\n")
    (path / "metrics.jsonl").write_text('{"step": 2, "split": "train", "loss": 1.5}\n')
    return path


# Keys of the trained config, and names that pick modules (built-in, of the wrong kind, missing; never
# a dataset that downloads).
KEYS = ["seed", "num_steps", "batch_size", "eval_batch_size", "learning_rate", "label_smoothing", "max_to_keep",
        "num_devices", "nonfinite_check", "model.width", "model.depth", "model.activation", "model.dropout",
        "optimizer.name", "optimizer.b1", "optimizer.eps", "schedule.name", "schedule.warmup_steps",
        "schedule.end_factor", "clip.global_norm", "profile.steps", "no_such_key", "model", "model.no_such_key"]
NAME_KEYS = ["model.name", "data.name", "objective"]
NAMES = ["mlp", "lstm", "cnn", "digits", "adding", "classification", "regression", "lectarch.data.digits",
         "lectarch.models.mlp", "lectarch.train.objectives", "lectarch.config", "no_such_module", "", "lectarch"]
NUMBERS = st.one_of(st.integers(-5, 70), st.sampled_from([2**31, 2**63, 2**64, -(2**63), 10**400]),
                    st.floats(allow_nan=True, allow_infinity=True))
TEXT = st.one_of(NUMBERS.map(str), st.sampled_from(["", "true", "nan", "-inf", "1e400", "0x10", "1,2", "(1,", "None",
                                                    "adam", "relu", "params", "cosine"]),
                 st.text(max_size=8))
OVERRIDE = st.one_of(st.tuples(st.sampled_from(KEYS), TEXT), st.tuples(st.sampled_from(NAME_KEYS),
                                                                      st.sampled_from(NAMES)))


@SETTINGS
@given(overrides=st.lists(OVERRIDE, min_size=1, max_size=3))
def test_random_overrides_on_a_workdir(workdir, overrides):
    before = snapshot(workdir)
    code, _, err = run_cli(*READ_ONLY, "--workdir", str(workdir), *(f"--config.{k}={v}" for k, v in overrides))
    assert_documented(code, err)
    assert snapshot(workdir) == before


JSON = st.recursive(st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=6)),
                    lambda inner: st.one_of(st.lists(inner, max_size=3),
                                            st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                    max_leaves=8)


def _saved_config(workdir) -> dict:
    return json.loads((workdir / "config.json").read_text())


@SETTINGS
@given(data=st.data())
def test_random_json_configs(workdir, tmp_path, data):
    """A whole random JSON value, or the trained run's config with one key set to a random value."""
    config = _saved_config(workdir)
    if data.draw(st.booleans(), label="whole"):
        config = data.draw(JSON, label="config")
    else:
        group = data.draw(st.sampled_from([None, "model", "data", "optimizer", "schedule"]), label="group")
        node = config if group is None else config[group]
        key = data.draw(st.sampled_from(sorted(node) + ["extra"]), label="key")
        node[key] = data.draw(JSON, label="value")
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    code, _, err = run_cli(*READ_ONLY, "--config", str(path))
    assert_documented(code, err)


# A plug-in model module put together from one choice per part.
BUILD = {
    "ok": "return M(spec.num_features, spec.num_outputs, rngs)",
    "raises": "raise RuntimeError('no model today')",
    "none": "return None",
    "number": "return 5",
    "module_without_call": "return nnx.Linear(2, 2, rngs=rngs)",
    "exits": "raise SystemExit(0)",
}
CALL = {
    "ok": ("x, *, train=False, rngs=None", "return self.l(x.reshape(x.shape[0], -1))"),
    "no_keywords": ("x", "return self.l(x.reshape(x.shape[0], -1))"),
    "wrong_rank": ("x, *, train=False, rngs=None", "return self.l(x.reshape(x.shape[0], -1))[:, 0]"),
    "wrong_width": ("x, *, train=False, rngs=None", "return self.l(x.reshape(x.shape[0], -1))[:, :3]"),
    "raises": ("x, *, train=False, rngs=None", "raise ValueError('broken forward')"),
    "untraceable": ("x, *, train=False, rngs=None", "return self.l(x.reshape(x.shape[0], -1)) if x.sum() > 0 else None"),
    "a_dict": ("x, *, train=False, rngs=None", "return {'logits': self.l(x.reshape(x.shape[0], -1))}"),
    "kwargs": ("x, **kw", "return self.l(x.reshape(x.shape[0], -1))"),
}
RULES = {"absent": "", "list": "CONFIG_RULES = ['width']", "not_rules": "CONFIG_RULES = {'width': 5}",
         "ok": "from lectarch.config.rules import POSITIVE_INT\nCONFIG_RULES = {'width': POSITIVE_INT}"}
VALIDATE = {"absent": "", "raises": "def validate_config(cfg):\n    return cfg.model.missing",
            "not_callable": "validate_config = 3", "ok": "def validate_config(cfg):\n    pass"}
_numbers = itertools.count()


def plugin_source(build: str, call: str, rules: str, validate: str) -> str:
    signature, body = CALL[call]
    return "\n".join([
        "from flax import nnx", RULES[rules], VALIDATE[validate], "",
        "class M(nnx.Module):",
        "    def __init__(self, d, n, rngs):",
        "        self.l = nnx.Linear(d, n, rngs=rngs)",
        "",
        f"    def __call__(self, {signature}):",
        f"        {body}",
        "",
        "def build(cfg, spec, rngs):",
        f"    {BUILD[build]}",
    ]) + "\n"


@SETTINGS
@given(build=st.sampled_from(sorted(BUILD)), call=st.sampled_from(sorted(CALL)), rules=st.sampled_from(sorted(RULES)),
       validate=st.sampled_from(sorted(VALIDATE)))
def test_random_plugin_misbehaviour(tmp_path_factory, build, call, rules, validate):
    folder = tmp_path_factory.mktemp("plugin")
    name = f"plug_random_{next(_numbers)}"
    (folder / f"{name}.py").write_text(plugin_source(build, call, rules, validate))
    (folder / "config.py").write_text(textwrap.dedent("""\
        from lectarch.config import base_config
        from lectarch.data.digits import default_config as digits

        def get_config():
            c = base_config()
            c.model.width = 16
            c.data = digits()
            c.batch_size = 16
            return c
    """))
    try:
        code, _, err = run_cli(*READ_ONLY, "--config", str(folder / "config.py"), f"--config.model.name={name}")
    finally:
        sys.modules.pop(name, None)
    assert_documented(code, err)
    if code == 0:
        assert (build, rules, validate) in {("ok", r, v) for r in ("absent", "ok") for v in ("absent", "ok")}
        assert call in ("ok", "kwargs", "wrong_width")
