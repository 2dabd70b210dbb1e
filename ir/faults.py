"""The one way a running program goes wrong: a runtime fault.

Raised alike by the IR interpreters, the VM and the fast backend, with the
same message for the same fault, so their outcomes compare as text.
"""


class RuntimeFault(Exception):
    """The program went wrong while running: a second resume of a handle, a
    bad jump table index, or it ran out of fuel."""

    def __init__(self, message: str, site: str | None = None):
        super().__init__(message if site is None else f"{site}: {message}")
        self.message = message
        self.site = site  # "line:col" of the `resume` in the source, when known
