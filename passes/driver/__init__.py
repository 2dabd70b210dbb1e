"""The command line (`python -m passes`): compile, print IRs, run; and its subcommands."""

from passes.driver.cli import main, run_with_deep_stack

__all__ = ["main", "run_with_deep_stack"]
