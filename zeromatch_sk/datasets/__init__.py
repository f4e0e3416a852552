"""Real text datasets for examples, tests and benchmarks, with the prompts their teachers use.

- :func:`load_ag_news_sample`: 2,000 AG News articles (500 per topic) bundled
  with the package, so the demo and tests run on a fresh clone.
- :func:`load_ag_news` and :func:`load_trec`: the full files of the shared
  data folder (``../shared/data`` beside a checkout of the repository, or the
  folder named by the ``ZEROMATCH_DATA`` environment variable).
- :func:`load_fortunes`: the quotes and jokes of Debian's ``fortunes``
  package, labelled by category (``apt-get install fortunes``).

Attribution: AG's News Topic Classification Dataset (Zhang, Zhao & LeCun,
"Character-level Convolutional Networks for Text Classification", NeurIPS
2015), built from the AG's corpus of news articles; for research and
non-commercial use. TREC question classification (Li & Roth, "Learning
Question Classifiers", COLING 2002).
"""

from ._loaders import (
    AG_NEWS_CLASS_NAMES,
    AG_NEWS_TEMPLATE,
    FORTUNES_PATH,
    FORTUNES_TEMPLATE,
    TREC_CLASS_NAMES,
    TREC_TEMPLATE,
    find_shared_data,
    load_ag_news,
    load_ag_news_sample,
    load_fortunes,
    load_trec,
)

__all__ = [
    "AG_NEWS_CLASS_NAMES",
    "AG_NEWS_TEMPLATE",
    "FORTUNES_PATH",
    "FORTUNES_TEMPLATE",
    "TREC_CLASS_NAMES",
    "TREC_TEMPLATE",
    "find_shared_data",
    "load_ag_news",
    "load_ag_news_sample",
    "load_fortunes",
    "load_trec",
]
