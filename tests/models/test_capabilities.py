"""Every model declares what it can do the same way: the protocols of lectarch.models.capabilities."""

import numpy as np
import pytest
from flax import nnx

from lectarch.data.sequences import seq2seq_spec
from lectarch.data.spec import DataSpec
from lectarch.models import build_model
from lectarch.models.capabilities import DecodeMetrics, Pictures, ReceptiveFields, Seq2SeqDecoder, StatePerturbations
from tests.helpers import config

ALL = (Pictures, DecodeMetrics, Seq2SeqDecoder, ReceptiveFields, StatePerturbations)
EXPECTED = {
    "mlp_digits": {Pictures},
    "cnn_digits": {Pictures, ReceptiveFields},
    "alexnet_imagenette": {Pictures, ReceptiveFields},
    "adding_lstm": {Pictures, StatePerturbations},
    "family_encoder_decoder": {Pictures, StatePerturbations},
    "transformer_copy": {Pictures, DecodeMetrics, Seq2SeqDecoder},
}
SPECS = {"mlp_digits": DataSpec((64,), 10), "cnn_digits": DataSpec((8, 8, 1), 10),
         "alexnet_imagenette": DataSpec((127, 127, 3), 10), "adding_lstm": DataSpec((7, 2), 1),
         "family_encoder_decoder": seq2seq_spec(11, 9), "transformer_copy": seq2seq_spec(13, 11)}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_model_has_exactly_its_capabilities(name):
    cfg = config(name)
    model = nnx.eval_shape(lambda: build_model(cfg, SPECS[name], nnx.Rngs(0)))
    assert {c for c in ALL if isinstance(model, c)} == EXPECTED[name]


def test_a_users_model_gains_a_capability_by_having_the_method():
    class Mine(nnx.Module):
        def __call__(self, x):
            return x

        def pictures(self, inputs):
            return {"x": np.zeros((2, 2))}

    assert isinstance(Mine(), Pictures) and not isinstance(Mine(), DecodeMetrics)
