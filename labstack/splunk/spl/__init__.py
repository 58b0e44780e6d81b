"""SPL, Splunk's Search Processing Language, on DuckDB: parse -> plan -> SQL (+ Python).

>>> from labstack.splunk.store import EventStore
>>> store = EventStore()
>>> store.add([{"_time": 0, "index": "main", "sourcetype": "st", "source": "s", "host": "h",
...             "_raw": '{"user": "alice"}'}])
1
>>> store.search("search user=ALICE | stats count BY user").rows
[{'user': 'alice', 'count': '1'}]
"""

from .errors import SPLError
from .planner import Results, parse, run

__all__ = ["Results", "SPLError", "parse", "run"]
