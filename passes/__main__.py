import sys

from passes.driver import main

sys.exit(main())
