"""Reference answers to the walkthrough's exercises (spoilers!).

Chapter NN's ``exercise_K`` is answered here by ``chapterNN_exercise_K``, with the same
arguments. ``_common.check_exercises`` runs the reader's answer when it is written and
these otherwise, so the tests keep every answer checked. Try the exercise first.
"""

from __future__ import annotations

import numpy as np

# Chapter 9: pretraining ------------------------------------------------------------------


def chapter09_exercise_1(logits, label):
    z = np.asarray(logits, dtype=np.float64)
    top = z.max()
    return float(top + np.log(np.exp(z - top).sum()) - z[label])  # log-sum-exp - z[label]


def chapter09_exercise_2(entity_ids, chosen, mask_id):
    ids = np.array(entity_ids, copy=True)
    labels = np.where(chosen, ids, -100)
    ids[chosen] = mask_id
    return ids, labels


def chapter09_exercise_3(logits, labels):
    z = np.asarray(logits, dtype=np.float64).reshape(-1, np.shape(logits)[-1])
    y = np.asarray(labels).reshape(-1)
    keep = y != -100
    z, y = z[keep], y[keep]
    top = z.max(axis=-1, keepdims=True)
    log_norm = (top + np.log(np.exp(z - top).sum(axis=-1, keepdims=True)))[:, 0]
    return float((log_norm - z[np.arange(len(y)), y]).mean())


# Chapter 10: fine-tuning -----------------------------------------------------------------


def chapter10_exercise_1(logits, labels):
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    return (p - np.eye(z.shape[-1])[labels]) / z.shape[0]  # (softmax - one-hot) / N


def chapter10_exercise_2(logits, targets):
    z = np.asarray(logits, dtype=np.float64)
    return (1 / (1 + np.exp(-z)) - targets) / z.size  # (sigmoid - target) / entries


def chapter10_exercise_3(words, entities, starts, ends):
    return np.concatenate([words[starts], words[ends], entities], axis=-1)
