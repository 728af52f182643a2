"""HTTP and REST connectors, under their IRIS names (see ``iop.connectors.catalog``).

- :mod:`.messages`: ``EnsLib.HTTP.GenericMessage``, an HTTP request or response as a message;
- :mod:`.outbound`: ``EnsLib.HTTP.OutboundAdapter``, an httpx client per adapter;
- :mod:`.listener`: the HTTP server an inbound adapter runs on its own threads;
- :mod:`.inbound`: ``EnsLib.HTTP.InboundAdapter``, the listener handing requests to its service;
- :mod:`.replies`: a service's returned message turned into an HTTP response;
- :mod:`.passthrough`: ``EnsLib.HTTP.GenericService`` / ``GenericOperation`` and the REST ones.
"""
