"""Draw the pictures of the docs and the walkthrough into docs/figures/ (PNG).

    python walkthrough/make_figures.py              # writes docs/figures/*.png
    python walkthrough/make_figures.py --out DIR    # somewhere else (the test uses a tmp dir)

Needs matplotlib, the optional ``viz`` extra (``pip install -e '.[viz]'``); numpy_luke itself
never imports it. The pictures are computed from the tiny fixture checkpoint
(tests/fixtures/tiny-luke), so they are deterministic, and they are saved with fixed size,
dpi and metadata, so running this again gives the same pixels (tests/teaching/test_figures.py checks
that the committed files are what this script draws).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

WALKTHROUGH = Path(__file__).resolve().parent
ROOT = WALKTHROUGH.parent
FIGURES = ROOT / "docs" / "figures"
FIXTURE = ROOT / "tests" / "fixtures" / "tiny-luke"
DPI = 100
# The matplotlib release that drew the committed files. Text rendering may change between
# releases, so tests/teaching/test_figures.py compares pixels only under this version.
MATPLOTLIB_VERSION = "3.11.2"
# No software version or date in the files: regenerating must not change them.
METADATA = {"Software": None, "Title": None, "Author": None, "Description": None}

WORD_COLOR = "#4c72b0"
ENTITY_COLOR = "#dd8452"
PARAM_COLOR = "#8c8c8c"


def save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, metadata=METADATA, facecolor="white")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


# ----------------------------------------------------------------------------- data flow

# (x, y, width, height, title, detail, color) in axes units; x, y is the lower left corner.
FLOW_BOXES = {
    "text": (0.0, 0.62, 0.15, 0.26, "text + spans",
             '"[[Messi]] plays\nfor <mask>."\n-> span (0, 5)', WORD_COLOR),
    "bpe": (0.2, 0.62, 0.15, 0.26, "bpe.py", "bytes -> pieces\n-> merges\n-> word tokens",
            WORD_COLOR),
    "tokenizer": (0.4, 0.62, 0.19, 0.26, "tokenizer.py", "input_ids (B, W)\nentity_ids (B, E)\n"
                  "entity_position_ids\n(B, E, M)", WORD_COLOR),
    "files": (0.0, 0.12, 0.15, 0.26, "checkpoint", "model.safetensors\nor pytorch_model.bin\n"
              "+ config.json", PARAM_COLOR),
    "hub": (0.2, 0.12, 0.15, 0.26, "hub.py", "folder or Hub id\n-> local files", PARAM_COLOR),
    "weights": (0.4, 0.12, 0.19, 0.26, "weights.py\nstate_dict.py", "parameter dict\n"
                "key -> array\n(no torch)", PARAM_COLOR),
    "embeddings": (0.64, 0.62, 0.16, 0.26, "embeddings.py", "words (B, W, H)\nentities (B, E, H)\n"
                   "mention positions\naveraged", ENTITY_COLOR),
    "encoder": (0.64, 0.12, 0.16, 0.36, "encoder.py\nattention.py", "N layers of\nentity-aware\n"
                "self-attention\n(B, W+E, H)", ENTITY_COLOR),
    "heads": (0.85, 0.12, 0.15, 0.36, "heads.py", "logits (B, W, V)\nentity_logits\n(B, E, V_e)\n"
              "class scores", ENTITY_COLOR),
    "pipelines": (0.85, 0.62, 0.15, 0.26, "pipelines.py\ncli.py", "top-k words\nand entities",
                  ENTITY_COLOR),
}
FLOW_ARROWS = [
    ("text", "bpe"), ("bpe", "tokenizer"), ("tokenizer", "embeddings"),
    ("files", "hub"), ("hub", "weights"), ("weights", "encoder"), ("weights", "embeddings"),
    ("embeddings", "encoder"), ("encoder", "heads"), ("heads", "pipelines"),
]


def draw_data_flow(plt):
    """The modules in the order data flows through them, from text to prediction."""
    from matplotlib.colors import to_rgb
    from matplotlib.patches import FancyBboxPatch

    fig, ax = plt.subplots(figsize=(12, 4.4))
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.99)
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(0.0, 1.0)
    ax.axis("off")
    centers = {}
    for name, (x, y, w, h, head, detail, color) in FLOW_BOXES.items():
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.005,rounding_size=0.015",
                                    facecolor=(*to_rgb(color), 0.15), edgecolor=color,
                                    linewidth=1.5))
        ax.text(x + w / 2, y + h - 0.03, head, ha="center", va="top", fontsize=10,
                fontweight="bold", family="DejaVu Sans")
        ax.text(x + w / 2, y + h / 2 - (0.06 if "\n" in head else 0.03), detail, ha="center",
                va="center", fontsize=8, family="DejaVu Sans Mono")
        centers[name] = (x, y, w, h)
    for start, end in FLOW_ARROWS:
        ax.annotate("", xy=_edge(centers[end], centers[start]),
                    xytext=_edge(centers[start], centers[end]),
                    arrowprops=dict(arrowstyle="-|>", color="#333333", linewidth=1.2))
    ax.text(0.0, 0.97, "B batch, W words, E entities, M mention length, H hidden, "
            "V / V_e word / entity vocabulary", fontsize=8, color="#555555", va="top")
    for x, label, color in [(0.0, "text side", WORD_COLOR), (0.07, "parameters", PARAM_COLOR),
                            (0.165, "words and entities together", ENTITY_COLOR)]:
        ax.text(x, 0.03, label, color=color, fontsize=9, fontweight="bold")
    return fig


def _edge(box, towards):
    """The point where a line from ``box``'s centre to ``towards``'s centre leaves ``box``."""
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    tx, ty = towards[0] + towards[2] / 2, towards[1] + towards[3] / 2
    dx, dy = tx - cx, ty - cy
    inf = float("inf")
    scale = min(abs(w / 2 / dx) if dx else inf, abs(h / 2 / dy) if dy else inf)
    return cx + dx * scale, cy + dy * scale


# ----------------------------------------------------------------------------- the example

TEXT = "Lionel Messi plays for Inter Miami CF."
SPANS = [(0, 12), (23, 37)]
TITLES = ["Lionel Messi", "Inter Miami CF"]


def load_example(model: str | Path = FIXTURE):
    """The tokenizer, the LukeModel and the encoded example sentence of the figures."""
    from numpy_luke import LukeModel, LukeTokenizer

    tokenizer = LukeTokenizer.from_pretrained(model)
    luke = LukeModel.from_pretrained(model)
    encoding = tokenizer(TEXT, entity_spans=SPANS, entities=TITLES, return_tensors="np")
    return tokenizer, luke, encoding


# ----------------------------------------------------------------------------- mention averaging


def draw_mention_averaging(plt, tokens, entity_titles, entity_position_ids, position_table,
                           entity=1, dims=32):
    """Left: ``entity_position_ids`` (-1 = padding). Right: the position vectors of one
    entity's tokens and their mean, which is the entity's position embedding.

    tokens: word tokens; entity_position_ids (entities, max_mention_length);
    position_table (max_positions, hidden), the entity position embeddings.
    """
    shown_columns = min(entity_position_ids.shape[1], 12)
    ids = entity_position_ids[:, :shown_columns]
    row = entity_position_ids[entity]
    used = row[row != -1]
    vectors = position_table[used][:, :dims]  # (mention tokens, dims)
    mean = vectors.mean(axis=0, keepdims=True)  # (1, dims)

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2),
                                      gridspec_kw={"width_ratios": [1, 1.5]})
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.13, top=0.86, wspace=0.45)
    from matplotlib.colors import ListedColormap

    left.imshow(np.where(ids == -1, 0, 1), cmap=ListedColormap(["#f2f2f2", "#fbd5b5"]),
                vmin=0, vmax=1, aspect="auto")
    for (e, m), value in np.ndenumerate(ids):
        left.text(m, e, str(value), ha="center", va="center", fontsize=8,
                  color="#999999" if value == -1 else "black")
    left.set_yticks(range(len(entity_titles)), entity_titles, fontsize=8)
    left.set_xticks(range(shown_columns), [str(m) for m in range(shown_columns)], fontsize=7)
    left.set_xlabel(f"mention slot (first {shown_columns} of {entity_position_ids.shape[1]})",
                    fontsize=9)
    left.set_title("entity_position_ids: word positions, -1 = none", fontsize=10)

    stacked = np.concatenate([vectors, np.full((1, vectors.shape[1]), np.nan), mean])
    limit = float(np.nanmax(np.abs(stacked)))
    right.imshow(stacked, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto",
                 interpolation="nearest")
    width = max(len(tokens[p]) for p in used)
    labels = [f"position {p:3d}  {tokens[p]:<{width}}" for p in used] + ["", "mean"]
    right.set_yticks(range(len(labels)), labels, fontsize=8, family="DejaVu Sans Mono")
    right.set_xlabel(f"first {vectors.shape[1]} dimensions of the position vectors", fontsize=9)
    right.set_title(f"{entity_titles[entity]!r}: position vectors of its {len(used)} tokens, "
                    "averaged", fontsize=10)
    right.tick_params(axis="x", labelsize=7)
    fig.suptitle("An entity's position embedding is the mean of its mention's word positions",
                 fontsize=11, fontweight="bold")
    return fig


def draw_attention(ax, probs, word_labels, entity_labels, heading, vmax=None):
    """One head's attention probabilities (n, n), n = words + entities, with the 2x2 blocks
    of entity-aware attention marked and named by the query matrix each block uses."""
    words, n = len(word_labels), probs.shape[0]
    image = ax.imshow(probs, cmap="viridis", vmin=0, vmax=vmax or float(probs.max()),
                      interpolation="nearest")
    for edge in (words - 0.5,):
        ax.axhline(edge, color="white", linewidth=2)
        ax.axvline(edge, color="white", linewidth=2)
    labels = list(word_labels) + list(entity_labels)
    ax.set_xticks(range(n), labels, rotation=90, fontsize=7, family="DejaVu Sans Mono")
    ax.set_yticks(range(n), labels, fontsize=7, family="DejaVu Sans Mono")
    for tick in ax.get_xticklabels()[words:] + ax.get_yticklabels()[words:]:
        tick.set_color(ENTITY_COLOR)
        tick.set_fontweight("bold")
    ax.set_xlabel("keys (attended to)", fontsize=9)
    ax.set_ylabel("queries (attending)", fontsize=9)
    ax.set_title(heading, fontsize=10)
    spans = [(-0.5, words - 0.5), (words - 0.5, n - 0.5)]
    for (r, c), name in {(0, 0): "w2w", (0, 1): "w2e", (1, 0): "e2w", (1, 1): "e2e"}.items():
        (x0, x1), (y0, y1) = spans[c], spans[r]
        ax.text((x0 + x1) / 2, (y0 + y1) / 2, name, ha="center", va="center", fontsize=8,
                color="white", fontweight="bold", rotation=90 if (r, c) == (0, 1) else 0,
                bbox=dict(boxstyle="round,pad=0.15", facecolor="black", alpha=0.5,
                          edgecolor="none"))
    return image


def attention_figure(plt, model: str | Path = FIXTURE):
    """Layer 0, head 0 of the fixture model: the example sentence alone, and the same
    sentence padded in a batch (padded keys get probability exactly 0)."""
    tokenizer, luke, encoding = load_example(model)
    batch = tokenizer(["Messi plays in Miami.", TEXT], entity_spans=[[(0, 5)], SPANS],
                      entities=[["Lionel Messi"], TITLES], padding=True, return_tensors="np")
    alone = luke(**encoding, output_attentions=True).attentions[0][0, 0]  # (n, n)
    padded = luke(**batch, output_attentions=True).attentions[0][0, 0]  # (n', n')
    # Rounded, so that the last-bit differences of another BLAS cannot change a pixel.
    alone, padded = np.round(alone, 3), np.round(padded, 3)
    fig, axes = plt.subplots(1, 2, figsize=(15, 7.6))
    fig.subplots_adjust(left=0.09, right=0.95, bottom=0.16, top=0.86, wspace=0.42)
    for ax, ids, entity_ids, probs, heading in [
        (axes[0], encoding["input_ids"][0], encoding["entity_ids"][0], alone,
         f"{TEXT!r}"),
        (axes[1], batch["input_ids"][0], batch["entity_ids"][0], padded,
         "'Messi plays in Miami.' padded in a batch:\n<pad> words and the [PAD] entity get 0"),
    ]:
        words = tokenizer.convert_ids_to_tokens(ids.tolist())
        entities = [tokenizer_title(tokenizer, e) for e in entity_ids.tolist()]
        image = draw_attention(ax, probs, words, entities, heading)
        fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    fig.suptitle("Entity-aware self-attention (layer 0, head 0 of the fixture model): one "
                 "softmax over words + entities", fontsize=11, fontweight="bold")
    fig.text(0.5, 0.925, "the four blocks use four query matrices: w2w = query, "
             "w2e = w2e_query, e2w = e2w_query, e2e = e2e_query; keys and values are shared",
             ha="center", fontsize=9)
    return fig


def tokenizer_title(tokenizer, entity_id: int) -> str:
    """A short label for an entity id: its title, in brackets."""
    titles = {i: t for t, i in tokenizer.entity_vocab.items()}
    return f"[{titles[entity_id]}]" if not titles[entity_id].startswith("[") else titles[entity_id]


def mention_averaging_figure(plt, model: str | Path = FIXTURE):
    tokenizer, luke, encoding = load_example(model)
    tokens = tokenizer.convert_ids_to_tokens(encoding["input_ids"][0].tolist())
    table = np.round(luke.params["entity_embeddings.position_embeddings.weight"], 3)
    return draw_mention_averaging(plt, tokens, TITLES, encoding["entity_position_ids"][0], table)


def attention_command_figure(plt, model: str | Path = FIXTURE):
    """What `python -m numpy_luke attention TEXT --layer 1` draws for the example sentence
    on the fixture (mean of the heads), with the command's own functions. Probabilities
    are rounded, so that the last-bit differences of another BLAS cannot change a pixel."""
    from numpy_luke import LukeModel, LukeTokenizer
    from numpy_luke.attention_map import BLOCKS, attention_map, draw, read_mentions

    text, spans = read_mentions("[[Lionel Messi]] plays for [[Inter Miami CF]].", None)
    result = attention_map(LukeModel.from_pretrained(model), LukeTokenizer.from_pretrained(model),
                           text, spans, layer=1, head=None)
    result.update({name: np.round(result[name], 3) for name in BLOCKS})
    return draw(plt, result)


# ----------------------------------------------------------------------------- main

FIGURE_MAKERS = {
    "data_flow.png": draw_data_flow,
    "mention_averaging.png": mention_averaging_figure,
    "attention_blocks.png": attention_figure,
    "attention_command.png": attention_command_figure,
}


def make_all(out: Path) -> list[Path]:
    """Draw every figure into ``out``; returns the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcdefaults()  # the same style whatever the user's matplotlibrc says
    plt.rcParams.update({"font.family": "DejaVu Sans", "svg.hashsalt": "numpy_luke"})
    out.mkdir(parents=True, exist_ok=True)
    return [save(maker(plt), out / name) for name, maker in FIGURE_MAKERS.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=FIGURES, help="folder for the PNG files")
    args = parser.parse_args(argv)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("make_figures needs matplotlib: pip install -e '.[viz]'", file=sys.stderr)
        return 1
    for path in make_all(args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
