"""The SQL connectors, under IRIS's class names (``EnsLib.SQL.*``), over PostgreSQL
(psycopg 3), MariaDB/MySQL (PyMySQL) and SQLite, chosen by the adapter's ``DSN``.

* ``dbapi``: DSNs, connections, ``?`` parameters in each driver's style, errors as one line;
* ``connection_settings``: the settings and the reused connection both adapters share;
* ``snapshot``: ``EnsLib.SQL.Snapshot``, a result set as a message;
* ``sql_outbound``: ``EnsLib.SQL.OutboundAdapter`` (queries, updates, procedures, transactions);
* ``sql_inbound``: ``EnsLib.SQL.InboundAdapter`` (polling, each row once);
* ``generic``: ``EnsLib.SQL.Service.GenericService`` and ``EnsLib.SQL.Operation.GenericOperation``.
"""
