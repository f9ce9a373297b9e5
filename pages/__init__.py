"""The app's pages (one Streamlit page per top-level ``*.py``); shared UI code is in ``_ui``.

This file makes ``pages`` a regular package, so ``from pages._ui import frame`` always finds
this folder; Streamlit does not list ``__init__.py`` as a page.
"""
