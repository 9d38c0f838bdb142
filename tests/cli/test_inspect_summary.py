"""`lectarch inspect --what summary`: the header names where the config came from; FLOPs per layer,
or one whole sentence saying why there are none."""

from lectarch.cli import main
from lectarch.inspect.summary import why_no_flops
from tests.helpers import config


def test_the_header_names_the_workdir_and_the_table_has_flops(tmp_path, capsys):
    (tmp_path / "config.json").write_text(config("cnn_digits").to_json())
    assert main(["inspect", "--workdir", str(tmp_path), "--what", "summary"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"=== summary ({tmp_path}/config.json, model cnn) ==="
    assert "FLOPs per layer and call" in out and "total parameters: 6,090" in out


def test_why_no_flops_is_one_whole_sentence_cut_at_a_word():
    long = TypeError("function jit_f at /x/flax/nnx/summary.py:212 traced for jit returned a value of type "
                     + "<class 'str'> at output " * 20 + "\nwhich is not a valid JAX type")
    line = why_no_flops(long)
    assert "\n" not in line and line.endswith(".") and line.startswith("FLOPs per layer: not available, because")
    assert " ..." in line and "a value of type" in line  # cut between words, and says so
    assert why_no_flops(ValueError("short")).count("(ValueError: short)") == 1
