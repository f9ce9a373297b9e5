"""The app's own code beside its pages (never part of the `recsys` library).

Drawn with Streamlit: ``frame`` (what app.py draws around every page: the setup page, the
sidebar, the link), ``artifacts`` (which models exist, loaded and cached once per server
process), ``visitor`` (ratings, settings and the link of one visitor), ``widgets`` (pieces several
pages draw), and one module of pieces per page: ``rating`` (Rate & recommend), ``neighbours``
(Similar movies), ``mapping`` (Embedding map), ``report_view`` (Model report sections). The
landing page's teaching pieces ``explain`` (why this pick), ``feedback`` (judging picks),
``movement`` (watch your vector move) and ``live_solve`` keep their pure helpers beside the
drawing code.

Plain Python, testable without Streamlit: ``search`` (title search), ``profile`` (the rating scale
and the link codecs of ratings and judgements), ``onboarding`` (the well-known grid), ``lists``
(minimum-ratings options), ``mapview`` (the map figure and selections), ``tables`` and ``report``
(Model report tables, frames and figures), ``teaching`` ("How this works" texts), ``text``
(Markdown escaping, links out).
"""
