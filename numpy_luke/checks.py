"""Input checks, one checker per rule: the shell validates here, once, then calls the core.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------
# Texts, spans, ids, task rules (the tokenizer and the pipelines)
# ---------------------------------------------------------------------------------------



# ---------------------------------------------------------------------------------------
# Model inputs (LukeModel and the heads)
# ---------------------------------------------------------------------------------------
