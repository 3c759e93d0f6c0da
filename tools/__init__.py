"""Project tools: dataset building, model conversion, training and evaluation (not shipped in the wheel)."""
