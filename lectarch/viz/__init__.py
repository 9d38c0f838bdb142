"""Pictures: matplotlib (Agg) figures of models, training and inspection; one file per kind of picture.

    picture.py         ``Picture``: what a picture shows, as data (what a model's ``pictures()`` returns)
    render.py          a ``Picture`` drawn: title with the step, PNG and TensorBoard pixels
    tiles.py           many small images in a grid (filters, feature maps, an MLP's weights)
    heatmaps.py        labelled heat maps (attention heads, recurrent states, activations) and the input
    signals.py         1-D networks: filters as curves, feature maps under the input signal
    filters.py         a CNN's and an MLP's pictures as data
    model_pictures.py  a model's pictures of one eval example, with its class and token text
    gradflow_plots.py  gradient flow and program size
"""
