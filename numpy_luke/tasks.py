"""The tasks numpy_luke runs, in one table: what each reads and which checkpoint it uses.

Two kinds of names meet here. The tokenizer's ``task=`` (transformers' names) says how the
entity inputs are laid out and how many mention spans a text must have; the pipelines'
tasks (``pipeline("ner")``, ``python -m numpy_luke ner``) say which model class and which
published checkpoint answer. Everything else reads these tables: nothing here imports
NumPy, so the command line can build its options from them at start-up.
"""

# The tokenizer's tasks (None: plain entity inputs) and how many entity spans each reads:
# task -> (fewest, most or None, in words).
TASKS = (None, "entity_classification", "entity_pair_classification", "entity_span_classification")
TASK_SPANS = {
    "entity_classification": (1, 1, "exactly one mention"),
    "entity_pair_classification": (2, 2, "exactly two mentions (head, tail)"),
    "entity_span_classification": (1, None, "at least one mention"),
}

# pipeline task -> the published checkpoint it loads when no model is given
# ("token-classification" has none: no LUKE token-classification checkpoint is published)
DEFAULT_MODELS = {
    "fill-mask": "studio-ousia/luke-base",
    "entity-prediction": "studio-ousia/luke-base",
    "entity-typing": "studio-ousia/luke-large-finetuned-open-entity",
    "relation-classification": "studio-ousia/luke-large-finetuned-tacred",
    "ner": "studio-ousia/luke-large-finetuned-conll-2003",
}
