"""See how recommendation embeddings work: rate movies, get live picks, explore neighbours and the
embedding map of MovieLens models.

    streamlit run app.py            # artifacts from ./artifacts, or $RECSYS_ARTIFACTS

A classic Streamlit multipage app: this file is the landing page ("Rate & recommend") and every
``pages/*.py`` is another page (Streamlit runs only the chosen page's file). Each page first calls
the shared frame (``pages/_ui/frame.py``: model loading, the setup page when no model loads, the
profile in the URL, the sidebar), then draws its own UI; this page's UI is ``pages/_ui/rate.py``.
The non-UI helpers are in recsys/explore.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:  # `recsys` and `pages` sit beside this file
    sys.path.insert(0, _HERE)

from pages._ui import frame, rate  # noqa: E402

rate.render(frame.frame())
