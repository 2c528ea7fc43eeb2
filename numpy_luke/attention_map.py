"""The ``attention`` command: one layer's entity-aware attention, drawn as four blocks.

LUKE reads words and entities as one sequence of n = W + E tokens, and each head's
attention probabilities form an (n, n) matrix with one softmax per row over all n keys.
Entity-aware attention computes the scores of that matrix in four blocks, each with its own
query matrix (Yamada et al. 2020, "Entity-aware Self-attention"):

    rows: queries \\ columns: keys    W words        E entities
    W words                          w2w (query)    w2e (w2e_query)
    E entities                       e2w (e2w_query) e2e (e2e_query)

So a word's row is split between w2w and w2e, and w2w row + w2e row sum to 1; likewise
e2w row + e2e row for an entity.

    python -m numpy_luke attention "[[Lionel Messi]] plays for [[Inter Miami CF]]." --layer 0
    python -m numpy_luke attention "Messi plays." --entity-span 0:5 --layer 11 --head 3 --json

This module is a shell around the public API: ``LukeTokenizer`` and ``LukeModel`` with
``output_attentions=True``, and ``mentions.read_mentions`` for the text and its mentions. The
picture needs matplotlib (the ``viz`` extra); ``--json`` does not. Mentions get the
``[MASK]`` entity, as in ``fill``: the map shows how the model reads "some entity here".
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

from .errors import InputError, MissingExtraError
from .hub import LoadOptions
from .mentions import parse_spans, read_mentions, read_texts
from .modeling import LukeModel
from .tokenizer import LukeTokenizer

BLOCKS = ("w2w", "w2e", "e2w", "e2e")
MAX_SIDE = 30.0  # inches: the picture is at most 3,000 x 3,000 pixels (dpi 100)
LABEL_SPACING = 0.13  # inches between row or column labels (7-point text)
QUERY_OF_BLOCK = {"w2w": "query", "w2e": "w2e_query", "e2w": "e2w_query", "e2e": "e2e_query"}
VIZ_INSTALL = "pip install 'numpy_luke[viz]'"

HELP = "draw one layer's attention over words and entities (blocks w2w, w2e, e2w, e2e)"
EXAMPLES = """examples:
  python -m numpy_luke attention "[[Lionel Messi]] plays for [[Inter Miami CF]]." --layer 0
  python -m numpy_luke attention "Messi plays." --entity-span 0:5 --layer 11 --head 3 --json
  python -m numpy_luke attention "[[Beyoncé]] sings." --layer 2 --output beyonce.png"""


def add_arguments(sub) -> None:
    """The command's own options (TEXT, --model, --revision and --json come from cli.py)."""
    sub.add_argument(
        "--entity-span", action="append", metavar="START:END",
        help="a mention, if not marked with [[...]] (character offsets; repeatable)",
    )  # fmt: skip
    sub.add_argument("--layer", type=int, required=True, help="encoder layer, from 0")
    sub.add_argument("--head", type=int, help="attention head, from 0 (default: mean of heads)")
    sub.add_argument("--output", type=Path, metavar="FILE.png",
                     help="where to write the picture (default attention-layerL-headH.png; "
                     "with --json, only when given)")


# ---------------------------------------------------------------------------------------
# The numbers
# ---------------------------------------------------------------------------------------


def split_blocks(probs, words: int) -> dict:
    """(n, n) attention probabilities, n = words + entities -> the four blocks:
    w2w (W, W), w2e (W, E), e2w (E, W), e2e (E, E)."""
    return {
        "w2w": probs[:words, :words],
        "w2e": probs[:words, words:],
        "e2w": probs[words:, :words],
        "e2e": probs[words:, words:],
    }


def mentions_of(text: str, span_specs: list[str] | None) -> tuple[str, list[tuple[int, int]]]:
    """The plain text and its mention spans (``[[...]]`` markers or START:END specs); the
    map needs at least one."""
    plain, spans = read_mentions(text, parse_spans(span_specs))
    if not spans:
        raise InputError(
            "no entity: the map has entity rows and columns only with a mention; mark one as "
            "[[Lionel Messi]] or give --entity-span START:END"
        )
    return plain, spans


def attention_map(model, tokenizer, text: str, spans, *, layer: int, head: int | None) -> dict:
    """Run ``model`` (a LukeModel) on ``text`` with ``spans`` as [MASK] entities and return
    layer ``layer``'s attention, one head or the mean over heads, as the four blocks
    (NumPy arrays) with the tokens and mentions that label their rows and columns."""

    config = model.config
    layers, heads = config.num_hidden_layers, config.num_attention_heads
    if not 0 <= layer < layers:
        raise InputError(f"--layer {layer} is out of range: the model has {layers} layers, "
                         f"0 to {layers - 1}")
    if head is not None and not 0 <= head < heads:
        raise InputError(f"--head {head} is out of range: the model has {heads} heads per "
                         f"layer, 0 to {heads - 1}")
    encoding = tokenizer(text, entity_spans=list(spans), return_tensors="np", verbose=False)
    max_tokens = min(int(tokenizer.model_max_length),
                     config.max_position_embeddings - config.pad_token_id - 1)
    words = encoding["input_ids"].shape[1]
    if words > max_tokens:
        raise InputError(f"the text is {words} tokens long, but the model reads at most "
                         f"{max_tokens}; shorten it")
    outputs = model(**encoding, output_attentions=True)
    probs = outputs.attentions[layer][0]  # (heads, n, n), n = words + entities
    chosen = probs[head] if head is not None else probs.mean(axis=0)  # (n, n)
    entity_ids = encoding["entity_ids"][0].tolist()
    wanted = set(entity_ids)
    titles = {i: t for t, i in tokenizer.entity_vocab.items() if i in wanted}
    return {
        "text": text,
        "tokens": tokenizer.convert_ids_to_tokens(encoding["input_ids"][0].tolist()),
        "entities": [
            {"mention": text[s:e], "start": s, "end": e, "entity": titles.get(i), "entity_id": i}
            for (s, e), i in zip(spans, entity_ids, strict=True)
        ],
        "layer": layer,
        "head": head,
        "heads": heads,
        **split_blocks(np.asarray(chosen, dtype=np.float64), words),
    }


def to_json(result: dict) -> dict:
    """The result with its blocks as nested lists of floats (what ``--json`` prints)."""
    return {key: value.tolist() if key in BLOCKS else value for key, value in result.items()}


# ---------------------------------------------------------------------------------------
# The picture
# ---------------------------------------------------------------------------------------


def import_pyplot():
    """matplotlib.pyplot drawing off-screen, or MissingExtraError naming the extra."""
    try:  # matplotlib is the optional viz extra: imported only to draw
        from matplotlib import pyplot as plt
    except ImportError:
        raise MissingExtraError(
            f"drawing the attention map needs matplotlib: {VIZ_INSTALL} (or use --json)"
        ) from None
    plt.switch_backend("Agg")  # off-screen, whatever the environment's default
    return plt


def draw(plt, result: dict, vmax: float | None = None):
    """The four blocks as a 2x2 grid of heat maps sized by words and entities, on one colour
    scale, rows (queries) and columns (keys) labelled; returns the figure."""

    words, entities = len(result["tokens"]), len(result["entities"])
    vmax = vmax or max(float(result[b].max()) for b in BLOCKS) or 1.0
    # Inches per token: 0.26, less for a long text, so that the picture stays within
    # MAX_SIDE inches (a 512-token text took 13,500 pixels a side, 20 s and 3.9 GB); then
    # rows and columns are labelled every `every` tokens. Entity rows and columns are
    # never thinner than one label, so every mention is named.
    scale = min(0.26, (MAX_SIDE - 1.6) / (words + entities))
    every = math.ceil(LABEL_SPACING / scale - 1e-9)
    size = {"w": words, "e": entities * every}  # in token cells
    scale = min(scale, (MAX_SIDE - 1.6) / (words + entities * every))
    side = 1.6 + scale * (words + entities * every)
    fig, axes = plt.subplots(
        2, 2, figsize=(side + 2.2, side + 1.4), squeeze=False,
        gridspec_kw={"width_ratios": [size["w"], size["e"]],
                     "height_ratios": [size["w"], size["e"]]},
    )  # fmt: skip
    # the gaps between the blocks hold the block names (above each block, off its cells)
    gap = 0.34 / (side + 1.4)  # inches of name, as a fraction of the figure
    fig.subplots_adjust(left=0.2, right=0.86, bottom=0.2, top=0.88,
                        wspace=0.06, hspace=2 * gap / (0.68 - gap))
    word_labels = list(result["tokens"])
    entity_labels = [f"[[{e['mention']}]]" for e in result["entities"]]
    labels = {"w": word_labels, "e": entity_labels}
    steps = {"w": every, "e": 1}
    image = None
    for (r, c), name in zip(np.ndindex(2, 2), BLOCKS, strict=True):
        ax = axes[r, c]
        rows, cols = labels[name[0]], labels[name[2]]
        down, across = steps[name[0]], steps[name[2]]
        image = ax.imshow(result[name], cmap="viridis", vmin=0, vmax=vmax, aspect="auto",
                          interpolation="nearest")
        ax.set_xticks(range(0, len(cols), across), cols[::across] if r == 1 else [],
                      rotation=90, fontsize=7)
        ax.set_yticks(range(0, len(rows), down), rows[::down] if c == 0 else [], fontsize=7)
        ax.set_title(f"{name}\n({QUERY_OF_BLOCK[name]})", fontsize=7, fontweight="bold",
                     pad=2, linespacing=1.0)
    axes[1, 0].set_xlabel("keys: words", fontsize=9)
    axes[1, 1].set_xlabel("entities", fontsize=9)
    axes[0, 0].set_ylabel("queries: words", fontsize=9)
    axes[1, 0].set_ylabel("entities", fontsize=9)
    colorbar_axes = fig.add_axes((0.89, 0.2, 0.025, 0.68))
    fig.colorbar(image, cax=colorbar_axes, label="attention probability")
    which = (f"head {result['head']}" if result["head"] is not None
             else f"mean of {result['heads']} heads")
    text = result["text"] if len(result["text"]) <= 80 else result["text"][:79] + "…"
    fig.suptitle(f"layer {result['layer']}, {which}: {text!r}", fontsize=10,
                 fontweight="bold")
    fig.text(0.5, 0.935, "one softmax per row over words + entities: "
             "w2w + w2e rows and e2w + e2e rows sum to 1", ha="center", fontsize=8)
    return fig


def default_output(layer: int, head: int | None) -> Path:
    return Path(f"attention-layer{layer}-{'mean' if head is None else f'head{head}'}.png")


# ---------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------


def run(args) -> int:
    """``python -m numpy_luke attention ...`` (called by cli.main, which prints errors)."""
    texts = read_texts(args.texts)
    if len(texts) != 1:
        raise InputError(f"the attention command reads one text, got {len(texts)}")
    output = args.output or (None if args.json else default_output(args.layer, args.head))
    if output is not None and output.suffix.lower() != ".png":
        raise InputError(f"--output {output}: the picture is a PNG; name the file *.png")
    plt = import_pyplot() if output is not None else None  # fail before loading the model
    text, spans = mentions_of(texts[0], args.entity_span)
    load = LoadOptions(revision=args.revision)
    tokenizer = LukeTokenizer.from_pretrained(args.model, load=load)
    model = LukeModel.from_pretrained(args.model, load=load)
    result = attention_map(model, tokenizer, text, spans, layer=args.layer, head=args.head)
    if output is not None:
        figure = draw(plt, result)
        figure.savefig(output, dpi=100, metadata={"Software": None}, facecolor="white")
        plt.close(figure)
    if args.json:
        print(json.dumps(to_json(result), ensure_ascii=False, allow_nan=False))  # strict JSON
    else:
        which = f"head {args.head}" if args.head is not None else f"mean of {result['heads']} heads"
        print(f"wrote {output} (layer {args.layer}, {which}; {len(result['tokens'])} words, "
              f"{len(result['entities'])} entities)", file=sys.stdout)
    return 0
