"""The app's own code beside its pages (never part of the `recsys` library).

Drawn with Streamlit: ``frame`` (what app.py draws around every page: the setup page, the
sidebar, the link), ``artifacts`` (which models exist, loaded and cached once per server
process), ``visitor`` (ratings, settings and the link of one visitor), ``widgets`` (pieces several
pages draw), and one module of pieces per page: ``rating`` (Rate & recommend), ``neighbours``
(Similar movies), ``mapping`` (Embedding map).

Plain Python, testable without Streamlit: ``search`` (title search), ``profile`` (the rating scale
and the profile codec of links), ``onboarding`` (quick-start groups, the well-known grid),
``lists`` (the popularity knob, minimum-ratings options), ``mapview`` (the map figure and
selections), ``tables`` (Model report tables), ``teaching`` ("How this works" texts), ``text``
(Markdown escaping, links out).
"""
