"""Attention maps as ``Picture`` data: one picture per attention kind and layer, one panel per head,
rows the queries and columns the keys, labelled with the tokens (padding cropped)."""

import numpy as np

from lectarch.viz.picture import Picture, heatmaps

WHO = {"encoder_self": ("source", "source"), "decoder_self": ("target", "target"), "cross": ("target", "source")}


def head_panels(weights_HxTxS: np.ndarray, kind: str, layer: int, query_ids, key_ids) -> Picture:
    """The heads of one layer's ``kind`` attention, queries x keys, on one scale from 0."""
    queries, keys = WHO[kind]
    w = np.asarray(weights_HxTxS, np.float32)
    return heatmaps(w, f"{kind.replace('_', '-')} attention, layer {layer} ({w.shape[0]} heads)",
                    xlabel=f"key ({keys} token)", ylabel=f"query ({queries} token)", value_label="attention weight",
                    panel_titles=[f"head {h}" for h in range(w.shape[0])], xtokens=key_ids, ytokens=query_ids,
                    lower=0.0)


__all__ = ["WHO", "head_panels"]
