"""Pictures: matplotlib (Agg) figures of models, training and inspection; one file per kind of picture."""
