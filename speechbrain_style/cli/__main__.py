"""``python -m speechbrain_style.cli``: the ``speechbrain-style`` command."""

from speechbrain_style.cli.main import main

raise SystemExit(main())
