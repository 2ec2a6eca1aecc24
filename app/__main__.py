# SPDX-License-Identifier: GPL-3.0-or-later
"""`python -m app`: the same as the `fanfare` command."""

import sys

from app.cli import main

sys.exit(main())
