"""``python -m kb.index.postgres setup --admin-url ...``: the one-time database setup."""

import sys

from kb.index.postgres.schema import main

sys.exit(main())
