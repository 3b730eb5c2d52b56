"""Yearly reports: one institution's (or a committee member's programmes') indicators of a
graduation year as PDF, XLSX, CSV or SPSS ``.sav``.

Every number comes from the indicator service (:func:`surveys.indicators.services.
get_indicators`), every text of a number from the presentation module, every chart from the
chart module, and the partnership evidence and the methodology from the dashboard's own
services: a report shows what the pages show, computed in one place. ``services.py``
checks a request against the reader's scope and builds the file; ``tables.py`` (CSV,
XLSX), ``pdf.py`` and ``spss.py`` write one format each; ``jobs.py`` runs a build as a job
(the web page), ``cli.py`` is ``hamkor report``.
"""
