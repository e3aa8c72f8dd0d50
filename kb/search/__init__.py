"""A question -> the passages that answer it:

    kb/search/query.py            the patient's words -> the documents' words: glossary, spelling, compounds
    kb/search/knowledge_base.py   KnowledgeBase.search / .answer: the one search every caller uses
    kb/search/ranking.py          every passage's signals (vectors, BM25), candidates, fusion
    kb/search/triage.py           warning signs in a question; the urgent line
"""

from kb.search.knowledge_base import NOT_COVERED, PARTS, Answer, Hit, KnowledgeBase, Ranking
from kb.search.ranking import CANDIDATES

__all__ = ["CANDIDATES", "NOT_COVERED", "PARTS", "Answer", "Hit", "KnowledgeBase", "Ranking"]
