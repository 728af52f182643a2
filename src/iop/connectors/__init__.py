"""The adapters, services, operations and messages an integration engine ships, under the
IRIS class names productions already use (``EnsLib.HTTP.OutboundAdapter``, ...).

One module (or subpackage) per family of connectors:

* ``catalog``: every class name this package provides, and where it lives; the registry
  imports a module the first time a production names one of its classes, and a module
  imports its client library (httpx, pika, paho-mqtt, ...) only when it connects, so a
  production loads only what it uses and a missing optional library is one clear error;
* ``inbound``: what every inbound adapter shares: handing input from a listener thread to
  the job's thread (so it is stored before the outside is acknowledged) and back-pressure
  when a target's queue is too long;
* ``credentials``: the ``Credentials`` setting and its lookup in the credentials store;
* ``errors``: ``ConnectorError``, raised when an outside system cannot be reached or used.
"""
