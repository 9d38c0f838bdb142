"""First-principles operations of the lecture: convolution, pooling, attention, receptive fields."""
