"""The HTML performance report (``fastact report``) and the tutorial figure (``fastact plot``).

Data flows one way: a benchmark (measured here, or ``fastact bench`` JSON) plus the
accuracy and saturation analyses -> one JSON document (:func:`build.collect`) ->
one self-contained HTML page (:func:`render.render`), figures inline as SVG.
Needs the ``report`` extra (matplotlib, Jinja2): ``pip install 'fastact[report]'``.
"""
