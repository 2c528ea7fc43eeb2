"""Reference answers to the walkthrough's exercises (spoilers!).

Chapter NN's ``exercise_K`` is answered here by ``chapterNN_exercise_K``, with the same
arguments. ``_common.check_exercises`` runs the reader's answer when it is written and
these otherwise, so the tests keep every answer checked. Try the exercise first.
"""

from __future__ import annotations

import json
import math
import struct

import numpy as np

from numpy_luke.core.bpe import bytes_to_unicode

# ------------------------------------------------------------------ chapter 1: bytes and BPE


def chapter01_exercise_1(text: str) -> str:
    """The text as byte-characters: UTF-8 bytes, each written with its stand-in."""
    table = bytes_to_unicode()
    return "".join(table[b] for b in text.encode("utf-8"))


def chapter01_exercise_2(symbols: tuple, merge_ranks: dict) -> tuple:
    """One BPE step: fuse every occurrence of the best-ranked adjacent pair (left to right);
    the symbols unchanged when no adjacent pair has a rank."""
    pairs = [(symbols[i], symbols[i + 1]) for i in range(len(symbols) - 1)]
    ranked = [p for p in pairs if p in merge_ranks]
    if not ranked:
        return tuple(symbols)
    best = min(ranked, key=merge_ranks.__getitem__)
    merged, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
            merged.append(symbols[i] + symbols[i + 1])
            i += 2
        else:
            merged.append(symbols[i])
            i += 1
    return tuple(merged)


# ------------------------------------------------------------------ chapter 2: entities as tokens


def chapter02_exercise_1(tokenizer, encoding, k: int) -> str:
    """The text that entity ``k`` covers, decoded from its row of entity_position_ids."""
    row = encoding["entity_position_ids"][0, k]
    return tokenizer.decode(encoding["input_ids"][0, row[row != -1]]).strip()


def chapter02_exercise_2(tokenizer, text: str, span: tuple[int, int]) -> list[int]:
    """Entity typing input: the word positions of the two <ent> markers around the span."""
    encoding = tokenizer(text, entity_spans=[span], task="entity_classification")
    ent = tokenizer.convert_tokens_to_ids("<ent>")
    return [i for i, token_id in enumerate(encoding["input_ids"]) if token_id == ent]


# ------------------------------------------------------------------ chapter 3: embeddings


def chapter03_exercise_1(input_ids: np.ndarray, pad_token_id: int) -> np.ndarray:
    """RoBERTa position ids: pad_token_id + 1, + 2, ... for real tokens; pad_token_id for
    padding. (batch, words) -> (batch, words)"""
    real = (input_ids != pad_token_id).astype(np.int64)
    return np.cumsum(real, axis=1) * real + pad_token_id


def chapter03_exercise_2(position_table: np.ndarray, row: np.ndarray) -> np.ndarray:
    """An entity's position vector: the mean of the rows of ``position_table`` named in
    ``row`` (one row of entity_position_ids), -1 entries left out. -> (hidden,)"""
    return position_table[row[row != -1]].mean(axis=0)


# ------------------------------------------------------------------ chapter 4: attention


def chapter04_exercise_1(p: dict, words: np.ndarray, entities: np.ndarray,
                         heads: int) -> np.ndarray:
    """Entity-aware attention probabilities of one layer, without a mask.
    p: the layer's ``attention.self.`` parameters; words (batch, W, hidden),
    entities (batch, E, hidden) -> (batch, heads, W + E, W + E)."""

    def project(x, name):  # (batch, m, hidden) -> (batch, heads, m, head size)
        y = x @ p[name + ".weight"].T + p[name + ".bias"]
        return y.reshape(y.shape[0], y.shape[1], heads, -1).transpose(0, 2, 1, 3)

    keys = project(np.concatenate([words, entities], axis=1), "key")
    W = words.shape[1]
    scores = np.concatenate([
        np.concatenate([project(words, "query") @ keys[:, :, :W].swapaxes(-1, -2),
                        project(words, "w2e_query") @ keys[:, :, W:].swapaxes(-1, -2)], -1),
        np.concatenate([project(entities, "e2w_query") @ keys[:, :, :W].swapaxes(-1, -2),
                        project(entities, "e2e_query") @ keys[:, :, W:].swapaxes(-1, -2)], -1),
    ], axis=-2) / math.sqrt(keys.shape[-1])
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def chapter04_exercise_2(probs: np.ndarray, words: int) -> float:
    """The share of attention words give to entities: the w2e block's row sums, averaged
    over heads and word rows. probs (batch, heads, n, n) -> a number in [0, 1]."""
    return float(probs[0, :, :words, words:].sum(axis=-1).mean())


# ------------------------------------------------------------------ chapter 5: the encoder


def chapter05_exercise_1(x: np.ndarray) -> np.ndarray:
    """Exact GELU, x * Phi(x), with math.erf for Phi."""
    erf = np.vectorize(math.erf)
    return x * 0.5 * (1.0 + erf(x / math.sqrt(2.0)))


def chapter05_exercise_2(p: dict, x: np.ndarray, eps: float) -> np.ndarray:
    """The feed-forward sub-layer of an encoder layer (p: the layer's parameters):
    LayerNorm(x + W2 gelu(W1 x + b1) + b2). (batch, n, hidden) -> (batch, n, hidden)"""
    inner = chapter05_exercise_1(x @ p["intermediate.dense.weight"].T
                                 + p["intermediate.dense.bias"])
    y = x + inner @ p["output.dense.weight"].T + p["output.dense.bias"]
    mean = y.mean(axis=-1, keepdims=True)
    variance = ((y - mean) ** 2).mean(axis=-1, keepdims=True)
    return (y - mean) / np.sqrt(variance + eps) * p["output.LayerNorm.weight"] + p[
        "output.LayerNorm.bias"]


# ------------------------------------------------------------------ chapter 6: the heads


def chapter06_exercise_1(scores: np.ndarray, special: list[int], k: int) -> list[int]:
    """The ids of the k best-scored entities, special entities left out, best first (ties:
    lower id first)."""
    left_out = set(special)
    order = sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))
    return [i for i in order if i not in left_out][:k]


def chapter06_exercise_2(words_out, entities_out, starts, ends, weight, bias) -> np.ndarray:
    """Span classification logits: the classifier on [start word; end word; entity].
    words_out (W, hidden), entities_out (E, hidden), starts/ends (E,) -> (E, labels)"""
    features = np.concatenate([words_out[starts], words_out[ends], entities_out], axis=-1)
    return features @ weight.T + bias


# ------------------------------------------------------------------ chapter 7: checkpoints


def chapter07_exercise_1(path) -> dict:
    """A safetensors file's tensors: name -> (dtype, shape), from its JSON header."""
    with open(path, "rb") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(length))
    return {name: (e["dtype"], tuple(e["shape"])) for name, e in header.items()
            if name != "__metadata__"}


def chapter07_exercise_2(storage: np.ndarray, offset: int, size: tuple,
                         stride: tuple) -> np.ndarray:
    """A tensor as a view of a flat storage: element (i0, i1, ...) is
    storage[offset + i0 * stride[0] + i1 * stride[1] + ...]. Returns a new array."""
    out = np.empty(size, dtype=storage.dtype)
    for index in np.ndindex(*size):
        out[index] = storage[offset + sum(i * s for i, s in zip(index, stride, strict=True))]
    return out


# ------------------------------------------------------------------ chapter 8: end to end


def chapter08_exercise_1(marked: str) -> tuple[str, tuple[int, int]]:
    """One mention marked as [[...]] -> (the text without markers, the mention's span)."""
    start = marked.index("[[")
    end = marked.index("]]") - 2
    return marked.replace("[[", "", 1).replace("]]", "", 1), (start, end)


def chapter08_exercise_2(logits: np.ndarray, k: int, exclude=()) -> list[tuple[int, float]]:
    """The k most probable ids under softmax(logits), ids in ``exclude`` left out (but
    still counted in the softmax), as (id, probability), best first."""
    x = np.asarray(logits, dtype=np.float64)
    probs = np.exp(x - x.max())
    probs /= probs.sum()
    left_out = set(exclude)
    order = [int(i) for i in np.argsort(-probs, kind="stable") if int(i) not in left_out]
    return [(i, float(probs[i])) for i in order[:k]]


# Chapter 9: pretraining ------------------------------------------------------------------


def chapter09_exercise_1(logits, label):
    """Cross-entropy of one row: log-sum-exp(logits) - logits[label]."""
    z = np.asarray(logits, dtype=np.float64)
    top = z.max()
    return float(top + np.log(np.exp(z - top).sum()) - z[label])  # log-sum-exp - z[label]


def chapter09_exercise_2(entity_ids, chosen, mask_id):
    """Mask the chosen entities: ids with [MASK] there, labels = the old id there, -100 else."""
    ids = np.array(entity_ids, copy=True)
    labels = np.where(chosen, ids, -100)
    ids[chosen] = mask_id
    return ids, labels


def chapter09_exercise_3(logits, labels):
    """Mean cross-entropy over the rows whose label is not -100."""
    z = np.asarray(logits, dtype=np.float64).reshape(-1, np.shape(logits)[-1])
    y = np.asarray(labels).reshape(-1)
    keep = y != -100
    z, y = z[keep], y[keep]
    top = z.max(axis=-1, keepdims=True)
    log_norm = (top + np.log(np.exp(z - top).sum(axis=-1, keepdims=True)))[:, 0]
    return float((log_norm - z[np.arange(len(y)), y]).mean())


# Chapter 10: fine-tuning -----------------------------------------------------------------


def chapter10_exercise_1(logits, labels):
    """Gradient of the mean cross-entropy w.r.t. the logits: (softmax - one-hot) / N."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    return (p - np.eye(z.shape[-1])[labels]) / z.shape[0]  # (softmax - one-hot) / N


def chapter10_exercise_2(logits, targets):
    """Gradient of the mean binary cross-entropy w.r.t. the logits: (sigmoid - y) / size."""
    z = np.asarray(logits, dtype=np.float64)
    return (1 / (1 + np.exp(-z)) - targets) / z.size  # (sigmoid - target) / entries


def chapter10_exercise_3(words, entities, starts, ends):
    """Span features of one text: [word at start; word at end; entity] per span."""
    return np.concatenate([words[starts], words[ends], entities], axis=-1)


def chapter11_exercise_1(p, dp):
    """softmax backward: ds_i = p_i (dp_i - sum_j dp_j p_j)."""
    return p * (dp - (dp * p).sum(axis=-1, keepdims=True))


def chapter11_exercise_2(dy, ids, rows):
    """Each id's row collects dy from every place the id appears (np.add.at adds repeats)."""
    dtable = np.zeros((rows, dy.shape[-1]))
    np.add.at(dtable, ids.reshape(-1), dy.reshape(-1, dy.shape[-1]))
    return dtable
