"""How the engine reaches the outside world: object storage and MySQL servers.

Connectors implement small interfaces defined in ``lakehouse`` (``lakehouse.storage``)
and never import ``lakehouse.sql`` or ``lakehouse.server``.
"""
