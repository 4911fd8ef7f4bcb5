"""MySQL/MariaDB servers: metadata, Arrow bulk reads with pushdown, safe SQL text.

The engine federates with one backend server (``lakehouse serve --mysql URL``). This
package only talks to it; deciding what to push down and when lives in
``lakehouse.sql.federation``.
"""

from connectors.mysql.quote import quote_identifier, quote_literal, quote_table
from connectors.mysql.server import BackendColumn, BackendTable, MySQLServer, MySQLUrl

__all__ = [
    "BackendColumn",
    "BackendTable",
    "MySQLServer",
    "MySQLUrl",
    "quote_identifier",
    "quote_literal",
    "quote_table",
]
