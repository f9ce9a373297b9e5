"""See how recommendation embeddings work: rate movies, get live picks, explore neighbours and the
embedding map of MovieLens models.

    streamlit run app.py            # artifacts from ./artifacts, or $RECSYS_ARTIFACTS

The entrypoint of a Streamlit multipage app (``st.navigation``): it draws the frame every page
shares once (``pages/ui/frame.py``: the models, the setup page when none loads, the profile in
the link, the sidebar), then runs the chosen page script from ``pages/``. The app's own helpers
are the package ``pages/ui``; the ``recsys`` library knows nothing of Streamlit.
"""

from __future__ import annotations

from pages.ui import frame

frame.run_app()
