"""``python -m modelport.cli``."""

from modelport.cli.main import main

main()
