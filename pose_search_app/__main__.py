"""`python -m pose_search_app` is the `pose-search` command."""

from pose_search_app.cli import main

raise SystemExit(main())
