"""The library's commands (`pose-search data|body|mesh|instruct`): each module has
``add_arguments(parser)`` and ``run(args) -> int``; the `pose-search` command itself is
:mod:`pose_search_app.cli`."""
