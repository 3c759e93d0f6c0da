"""2-D timbre map of a library: PCA of the samples' vectors in the similarity space, stored per sample.

The map projects the same vectors as the library's k-NN index (``knn.analysed_vectors``: MusiCNN
embedding and envelope/spectral-shape descriptors, the space ``"musicnn+descriptors"``), so sounds that
"similar sounds" finds close lie close on the map. It is recomputed only when the set of analysed sounds
changed (``content_version``), so two calls without a change in between return identical coordinates.
The principal axes get a fixed sign (the largest loading positive) and coordinates are scaled into [-1, 1].
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import select, update

from ..extensions import db
from ..models import Sample, SampleLibrary
from . import knn
from .access import lock_library


def project(embeddings: np.ndarray) -> np.ndarray:
    """(n, 2) coordinates in [-1, 1] of L2-normalised embeddings (n, d) by PCA with sign-fixed axes."""
    n = len(embeddings)
    if n == 0:
        return np.zeros((0, 2), dtype=np.float64)
    x = np.asarray(embeddings, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    x -= x.mean(axis=0, keepdims=True)
    if n == 1:
        return np.zeros((1, 2))
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    axes = vt[:2]
    signs = np.sign(axes[np.arange(len(axes)), np.argmax(np.abs(axes), axis=1)])
    signs[signs == 0] = 1.0
    coords = x @ (axes * signs[:, None]).T
    if coords.shape[1] < 2:
        coords = np.hstack([coords, np.zeros((n, 2 - coords.shape[1]))])
    scale = float(np.max(np.abs(coords)))
    return coords / scale if scale > 0 else coords


def compute(library: SampleLibrary) -> None:
    """Recompute and store the map of ``library``."""
    ids, _, vectors = knn.analysed_vectors(library.id)
    version = library.content_version
    coords = project(vectors)
    lock_library(library.id)  # the library's row before its samples' (the writers' lock order)
    db.session.execute(
        update(Sample).where(Sample.library_id == library.id).values(map_x=None, map_y=None),
        execution_options={"synchronize_session": False},
    )
    if ids:
        db.session.execute(
            update(Sample),
            [
                {"id": sid, "map_x": round(float(x), 6), "map_y": round(float(y), 6)}
                for sid, (x, y) in zip(ids, coords, strict=True)
            ],
        )
    library.map_version = version
    db.session.commit()


def map_body(library: SampleLibrary) -> dict[str, Any]:
    """``{libname, method, points: [{name, x, y, tag}]}`` for every analysed sample."""
    if library.map_version != library.content_version:
        compute(library)
    rows = db.session.execute(
        select(Sample.name, Sample.map_x, Sample.map_y, Sample.auto_tag, Sample.auto_tag_rejected, Sample.user_class)
        .where(Sample.library_id == library.id, Sample.map_x.is_not(None))
        .order_by(Sample.name)
    ).all()
    points = [  # the class shown: the user's correction, else the tagger's (placed samples are analysed)
        {"name": name, "x": x, "y": y, "tag": user_class or (None if rejected else tag)}
        for name, x, y, tag, rejected, user_class in rows
    ]
    return {"libname": library.name, "method": "pca", "points": points}
