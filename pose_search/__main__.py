"""`python -m pose_search` is the `pose-search` command."""

from pose_search.cli import main

raise SystemExit(main())
