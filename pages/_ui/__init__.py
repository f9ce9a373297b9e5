"""UI code the pages share (not pages themselves: Streamlit lists only top-level
``pages/*.py``). ``frame``: what every page runs first; ``rate``: the landing page's UI."""
