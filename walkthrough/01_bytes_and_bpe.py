# %% [markdown]
# # Chapter 1 — Bytes and byte-level BPE
#
# LUKE reads two kinds of tokens: **words** and **entities**. This chapter is about the
# words. LUKE uses RoBERTa's vocabulary, which is GPT-2's *byte-level byte-pair encoding*
# (BPE). Three steps turn any text into token ids:
#
# 1. every UTF-8 byte becomes one printable character (so nothing is ever "unknown");
# 2. a regular expression cuts the text into pieces (words, numbers, punctuation, spaces);
# 3. inside each piece, adjacent symbols are fused by a ranked list of *merges*.
#
# All of it lives in `numpy_luke/core/bpe.py` (reading the files: `numpy_luke/tokenizer_files.py`).
# Run this file as a script
# (`python walkthrough/01_bytes_and_bpe.py`) or open it as a notebook
# (`jupytext --to notebook walkthrough/01_bytes_and_bpe.py`).

# %%
import _common
from _common import show, table, title

from numpy_luke import hub
from numpy_luke.core.bpe import bytes_to_unicode, get_pairs, merge_pair, pretokenize
from numpy_luke.tokenizer_files import read_bpe

# %% [markdown]
# ## Which vocabulary?
#
# By default we use the tiny fixture checkpoint (`tests/fixtures/tiny-luke`), whose BPE was
# trained by `tests/fixtures/make_tiny_tokenizer.py` on a few paragraphs: 156 merges (its
# `merges.txt`) instead of RoBERTa's 50,000 (its `merges.txt`, below), so words split into
# more pieces. With `NUMPY_LUKE_TEST_DATA` set we use RoBERTa's real files; with `--model`
# the chosen checkpoint's.
#
# RoBERTa's `vocab.json` holds 50,265 tokens, `<s>` to `<mask>` (count it with the real files:
# `len(json.load(open("vocab.json")))`; its `merges.txt` has the 50,000 merges). LUKE's
# checkpoints have 50,267 word rows
# (`vocab_size` in luke-base's `config.json`): the conversion to transformers appended
# `<ent>` and `<ent2>` (ids 50265 and 50266), the entity markers of the fine-tuning tasks
# (chapter 2), as added tokens next to `vocab.json` (transformers'
# `convert_luke_original_pytorch_checkpoint_to_pytorch.py`). Pretraining never saw them.

# %%
roberta = _common.roberta_dir()
model = _common.model_name()
if roberta is not None and model == str(_common.FIXTURE):
    vocab_file, merges_file = roberta / "vocab.json", roberta / "merges.txt"
else:
    vocab_file = hub.resolve_file(model, "vocab.json")
    merges_file = hub.resolve_file(model, "merges.txt")
bpe = read_bpe(vocab_file, merges_file)
show("vocabulary", vocab_file)
show("tokens in vocab.json", len(bpe))
show("merges", len(bpe.merge_ranks))

# %% [markdown]
# ## Step 1: bytes as characters
#
# A byte-level vocabulary starts from the 256 possible byte values. To write them as text,
# each byte gets a printable stand-in: printable Latin-1 bytes stand for themselves, the 68
# others (control characters, the space, ...; counted and asserted below) are moved to U+0100
# and up. The space, byte 32, becomes `Ġ` — which is why tokens look like `Ġworld`.

# %%
table_ = bytes_to_unicode()
title("byte -> character, a few entries")
some_bytes = (0, 9, 10, 32, 33, 65, 127, 160, 173, 233, 255)
table(
    [(b, repr(chr(b)), table_[b], f"U+{ord(table_[b]):04X}") for b in some_bytes],
    header=("byte", "as Latin-1", "stand-in", "code point"),
)
moved = [b for b, c in table_.items() if ord(c) != b]
show("bytes that keep their own character", 256 - len(moved))
show("bytes moved to U+0100..", len(moved))

# %% [markdown]
# Text in any script is first encoded as UTF-8, then written with these 256 characters.
# "é" is two bytes (C3 A9) and so two characters; an emoji is four.

# %%
text = "Beyoncé 🙂"
as_bytes = text.encode("utf-8")
as_chars = "".join(table_[b] for b in as_bytes)
show("text", text)
show("UTF-8 bytes", as_bytes.hex(" "))
show("byte-characters", as_chars)

# %% [markdown]
# ## Step 2: pre-tokenisation
#
# GPT-2's pattern cuts text into pieces that merges never cross: contractions (`'s`, `'ll`,
# ...), runs of letters, runs of digits, runs of other symbols — each with at most one
# leading space — and runs of white space. The pieces, joined, give back the text exactly.

# %%
sentence = "Plants create energy through a process known as photosynthesis, isn't it? 2020!"
pieces = pretokenize(sentence)
show("sentence", sentence)
show("pieces", pieces)

# %% [markdown]
# ## Step 3: merges, step by step, on one word
#
# `merges.txt` ranks symbol pairs, most frequent first. A piece starts as single
# byte-characters; the adjacent pair with the best (lowest) rank is fused everywhere in the
# piece, and again, until no adjacent pair has a rank. We replay that loop by hand on
# " photosynthesis", with the two helpers `get_pairs` and `merge_pair`.
#
# **The formula.** The LUKE paper has no equation for this step: LUKE takes RoBERTa's
# vocabulary as it is (Liu et al. 2019), which is GPT-2's byte-level BPE (Radford et al.
# 2019) applying the merge rule of Sennrich et al. (2016). Written as a formula, for a piece
# s = (s_1, ..., s_m) of byte-characters and the rank r(a, b) of a pair in `merges.txt`:
#
#     (a*, b*) = argmin over i of r(s_i, s_{i+1})      (pairs without a rank are skipped)
#     s <- s with every adjacent (a*, b*) fused into the one symbol a*b*
#
# repeated until no adjacent pair has a rank. In the loop below, `ranked[0]` is the argmin
# and `merge_pair` the fusion.

# %%
word = " photosynthesis"
symbols = tuple(table_[b] for b in word.encode("utf-8"))
title(f"merging {word!r}")
print(f"  start: {' '.join(symbols)}")
steps = 0
while len(symbols) > 1:
    ranked = sorted((bpe.merge_ranks[p], p) for p in get_pairs(symbols) if p in bpe.merge_ranks)
    if not ranked:
        break
    rank, best = ranked[0]
    symbols = merge_pair(symbols, best)
    steps += 1
    merged = " ".join(symbols)
    print(f"  step {steps:2d}: merge {best[0]!r} + {best[1]!r} (rank {rank:5d}) -> {merged}")
print(f"  no ranked pair left after {steps} merges: {list(symbols)}")

# %% [markdown]
# The library's `ByteLevelBPE.bpe` runs the same loop (`merge` in `core/bpe.py`); the
# tokenizer caches each word's result (`word_tokens`, up to 10,000 words: `CACHE_SIZE` in
# `core/bpe.py`), because words repeat a lot in real text.

# %%
show("bpe.bpe(...)", list(bpe.bpe("".join(table_[b] for b in word.encode("utf-8")))))

# %% [markdown]
# ## All three steps: text -> tokens -> ids -> text
#
# `tokenize` runs the three steps on every piece; `encode` looks the tokens up in
# `vocab.json`; `decode` maps the characters back to bytes and decodes UTF-8 (invalid
# sequences become U+FFFD, like `errors="replace"`).

# %%
tokens = bpe.tokenize(sentence)
ids = bpe.encode(sentence)
title("tokens and ids")
table(list(zip(tokens, ids, strict=True)), header=("token", "id"))
show("decode(encode(sentence))", bpe.decode(ids))

for other in ["Beyoncé sang in 東京 🙂", "  two  spaces\tand a tab\n"]:
    show(f"tokens of {other!r}", bpe.tokenize(other))

# %% [markdown]
# Decoding works byte by byte, so a token sequence cut in the middle of a character is not
# an error: the broken bytes become U+FFFD.

# %%
emoji_ids = bpe.encode("🙂")
show("ids of the emoji", emoji_ids)
show("decode(all but the last id)", repr(bpe.decode(emoji_ids[:-1])))

# %% [markdown]
# ## Exercises
#
# Fill in a stub and run the chapter again: the last cell checks your answer (until then it
# checks the reference answer in `walkthrough/answers.py`).
#
# 1. `exercise_1(text)`: the text as byte-characters (step 1): its UTF-8 bytes, each
#    written with its stand-in from `bytes_to_unicode()`. (How many characters is "🙂"?)
# 2. `exercise_2(symbols, merge_ranks)`: one merge step (step 3): fuse every occurrence of
#    the best-ranked adjacent pair; return the symbols unchanged when no pair has a rank.
#    Repeating it must give exactly `bpe.bpe(...)`.

# %%

def exercise_1(text: str) -> str:
    raise NotImplementedError


def exercise_2(symbols: tuple, merge_ranks: dict) -> tuple:
    raise NotImplementedError


def check_exercise_1(answer):
    assert answer(" é") == table_[32] + table_[0xC3] + table_[0xA9]
    assert answer(text) == as_chars and len(answer("🙂")) == 4


def check_exercise_2(answer):
    for piece in [word, " Beyoncé", " 2020", "!!"]:
        current = tuple(table_[b] for b in piece.encode("utf-8"))
        while (following := answer(current, bpe.merge_ranks)) != current:
            current = following
        assert list(current) == list(bpe.bpe("".join(table_[b] for b in piece.encode()))), piece


# %% [markdown]
# ## What this chapter claimed, checked

# %%
# The table is a bijection from the 256 bytes to 256 distinct printable characters.
assert sorted(table_) == list(range(256)) and len(set(table_.values())) == 256
assert all(c.isprintable() and not c.isspace() for c in table_.values())
assert table_[32] == "Ġ" and table_[ord("A")] == "A" and len(moved) == 68
# Pre-tokenisation loses nothing, and a piece carries at most one leading space.
assert "".join(pieces) == sentence
assert "".join(pretokenize(" x  y")) == " x  y"
# The hand-made merge loop gives exactly the library's result.
assert list(symbols) == list(bpe.bpe("".join(table_[b] for b in word.encode("utf-8"))))
assert "".join(symbols) == "Ġphotosynthesis"
# Every token is in the vocabulary, and decoding gives the text back, for any script.
for t in [sentence, "Beyoncé sang in 東京 🙂", "  two  spaces\tand a tab\n", ""]:
    assert all(tok in bpe.vocab for tok in bpe.tokenize(t))
    assert bpe.decode(bpe.encode(t)) == t
# A cut multi-byte character decodes to the replacement character, not an error.
assert bpe.decode(emoji_ids[:-1]).endswith("\ufffd") or len(emoji_ids) == 1
# The exercises: your answers when written, else the reference answers.
_common.check_exercises(globals(), chapter=1)
print("\nchapter 1: all checks passed")
