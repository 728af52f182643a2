"""Wake-up transports: how a sender rings a sleeping job or a waiting caller.

On one host, datagram sockets with a memory-mapped flag per job slot (``sockets``, ``flags``);
on PostgreSQL, ``NOTIFY``/``LISTEN`` (``pg_notify``), shared per process (``pg_listen_hub``)
or forwarded to local sockets by a host's relay (``pg_relay``). A ring may carry a stored
message (``carried``).
"""
