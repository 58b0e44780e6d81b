"""The one exception the SPL engine raises; its text is what Splunk would say."""


class SPLError(Exception):
    """A search Splunk would reject, worded as Splunk words it.

    >>> str(SPLError.in_command("stats", "The argument 'x' is invalid."))
    "Error in 'stats' command: The argument 'x' is invalid."
    """

    @classmethod
    def in_command(cls, command: str, text: str) -> "SPLError":
        return cls(f"Error in '{command}' command: {text}")
