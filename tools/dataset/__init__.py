"""Dataset builder for the drum tagger: labelled one-shots, rendered loops and non-drum negatives built
from installed Debian packages (see docs/dataset.md and tools/build_dataset.py)."""
