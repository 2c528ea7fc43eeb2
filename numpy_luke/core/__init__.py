"""The core: LUKE itself, and nothing else.

Every piece of LUKE's math and algorithms lives here as plain functions of arrays and lists:
no input validation, no file reading, no transformers-compatibility switches, and no import
from outside ``numpy_luke.core``. The shell around it (the tokenizer and model classes,
``checks.py``, file readers, pipelines, the CLI) checks its inputs once, at the boundary, and
then calls these functions: the code you read here is the code that runs.
"""
