"""A model's pictures of one eval example, labelled with what only the dataset knows.

``model_pictures(model, dataset, index)`` asks the model (the ``Pictures`` capability:
``model.pictures(inputs) -> {name: Picture}``) and adds what the model cannot know: the example's
class in the input's title, and the tokens' text (the dataset's ``detokenize``) as the tick labels
of attention maps. The trainer (at each eval) and ``lectarch visualize`` both call it, then
``lectarch.viz.render.write``.
"""

import dataclasses

import numpy as np

from lectarch.viz.picture import Picture, as_picture


def token_text(ids: tuple[int, ...], detokenize=None, specials: dict[int, str] | None = None) -> tuple[str, ...]:
    """One label per token id: a special token's name (``<bos>``), else the detokenizer's text of that
    token alone, else its id."""
    out = []
    for i in ids:
        if specials and i in specials:
            out.append(specials[i])
            continue
        text = detokenize([i]) if detokenize is not None else str(i)
        out.append(repr(text)[1:-1] if text.strip() else f"<{i}>")
    return tuple(out)


def with_example(picture: Picture, example: dict, detokenize=None, specials: dict[int, str] | None = None) -> Picture:
    """``picture`` with the example's class in an input's title and token text on its axes."""
    if picture.kind == "image":
        targets = np.asarray(example.get("targets", []))
        if targets.ndim == 0 and np.issubdtype(targets.dtype, np.integer):
            picture = picture.with_title(f"{picture.title}, class {int(targets)}")
    if picture.xtokens or picture.ytokens:
        def text(ids, labels):
            return token_text(ids, detokenize, specials) if ids else labels

        picture = dataclasses.replace(picture, xticklabels=text(picture.xtokens, picture.xticklabels),
                                      yticklabels=text(picture.ytokens, picture.yticklabels))
    return picture


def model_pictures(model, dataset, index: int = 0) -> dict[str, Picture]:
    """The model's pictures of eval example ``index`` (``{}`` for a model without the capability)."""
    from lectarch.data import pipeline
    from lectarch.models.capabilities import Pictures

    if not isinstance(model, Pictures):
        return {}
    example = dataset.eval[index]
    raw = model.pictures(pipeline.stack([example])["inputs"])
    t = dataset.spec.tokens
    specials = {t.pad: "<pad>", t.bos: "<bos>", t.eos: "<eos>"} if t is not None else None
    return {name: with_example(as_picture(name, p), example, dataset.detokenize, specials) for name, p in raw.items()}


__all__ = ["model_pictures", "token_text", "with_example"]
