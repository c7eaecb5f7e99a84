from __future__ import annotations

from lstmbench.cli import main

raise SystemExit(main())
