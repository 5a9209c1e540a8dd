"""The pose-search application: the `pose-search` command (:mod:`pose_search_app.cli`) and the
embedded demo (:mod:`pose_search_app.build`, :mod:`pose_search_app.demo`), the top floor above
the library, training, indexing and the UI."""
