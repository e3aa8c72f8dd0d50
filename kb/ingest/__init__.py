"""documents/ -> a new index generation:

    kb/ingest/run.py       the ingest: which documents changed, reading and embedding them (here
                           or shared with workers), the new generation written and switched in
    kb/ingest/work.py      the work any worker does: read one document, embed a batch of texts
    kb/ingest/worker.py    the staff page's re-ingest, in a process of its own
    kb/ingest/report.py    the report people read; progress.py: progress bars
"""

from kb.ingest.run import FailedDocument, IngestProgress, IngestReport, ingest, manifest_for
from kb.ingest.work import serve

__all__ = ["FailedDocument", "IngestProgress", "IngestReport", "ingest", "manifest_for", "serve"]
