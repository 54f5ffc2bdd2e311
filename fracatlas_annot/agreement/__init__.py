"""Two readers: matching, agreement statistics, the adjudication queue and a consensus.

In FracAtlas each scan was labelled independently by two radiologists; this package takes
each reader's own export and says how well they agree, where they disagree, and builds a
consensus to train on.

Modules, lowest first (each imports only the ones above it):

* :mod:`.matching`: box and mask IoU, candidate pairs, the one-to-one assignment (also used
  by the box-vs-polygon and cross-format rules of :mod:`fracatlas_annot.checks`);
* :mod:`.stats`: Cohen's kappa with its CI, specific agreement, F1 / IoU / Dice, breakdowns;
* :mod:`.inputs`: which export of each reader is used, which images each reader saw,
  ``dataset.csv`` metadata;
* :mod:`.consensus`: a consensus :class:`~fracatlas_annot.model.Source` of the matched pairs;
* :mod:`.queue`: the adjudication queue and the files written for the senior reader;
* :mod:`.predictions`: a model's predictions (Ultralytics labels with confidences, COCO
  results, ``fracatlas-annot predict`` output) as objects with a ``score``;
* :mod:`.thirdreader`: the model as a third reader, against each reader and their
  consensus, beside reader against reader, across confidence thresholds;
* :mod:`.result`: :func:`agree` and :class:`AgreementResult`.

Conventions: reader A is the first argument, reader B the second; an object of A that B
lacks is ``missing-in-b`` (FN), an object of B that A lacks ``missing-in-a`` (FP); the
statistics are symmetric (agreement F1 = 2TP / (2TP + FP + FN)). Images a reader's export
omits and images only one reader saw are described in :mod:`.inputs`; matching in
:mod:`.matching`.

Example:
    ```python
    from fracatlas_annot.agreement import agree
    r = agree("fixtures/readers/reader-1", "fixtures/readers/reader-2",
              meta="fixtures/fracatlas-mini/dataset.csv")
    r.image_level["kappa"], r.instance, r.disagreements.head()
    r.write("adjudication", consensus=r.consensus("intersect", unmatched="queue"))
    ```
"""

from __future__ import annotations

from .consensus import METHODS, UNMATCHED, build_consensus, consensus_summary
from .inputs import (
    ReaderInput,
    add_readers,
    read_image_list,
    read_meta,
    source_preference,
)
from .matching import (
    assign_max_iou,
    box_iou_matrix,
    box_iou_pairs,
    candidate_pairs,
    match_pairs,
    polygon_iou_pairs,
)
from .predictions import Predictions, read_predictions
from .queue import DISAGREEMENT_COLUMNS, DISAGREEMENT_KINDS, write_adjudication
from .result import AgreementResult, agree
from .stats import SIZE_THRESHOLDS, cohen_kappa, size_class, specific_agreement
from .thirdreader import (
    DEFAULT_SWEEP,
    MODEL_QUEUE_COLUMNS,
    MODEL_QUEUE_KINDS,
    ModelAgreement,
    compare_model,
)

__all__ = [
    "DEFAULT_SWEEP",
    "DISAGREEMENT_COLUMNS",
    "DISAGREEMENT_KINDS",
    "METHODS",
    "MODEL_QUEUE_COLUMNS",
    "MODEL_QUEUE_KINDS",
    "SIZE_THRESHOLDS",
    "UNMATCHED",
    "AgreementResult",
    "ModelAgreement",
    "Predictions",
    "ReaderInput",
    "add_readers",
    "agree",
    "assign_max_iou",
    "box_iou_matrix",
    "box_iou_pairs",
    "build_consensus",
    "candidate_pairs",
    "cohen_kappa",
    "compare_model",
    "consensus_summary",
    "match_pairs",
    "polygon_iou_pairs",
    "read_image_list",
    "read_meta",
    "read_predictions",
    "size_class",
    "source_preference",
    "specific_agreement",
    "write_adjudication",
]
