"""HTTP and REST connectors, under their IRIS names (see ``iop.connectors.catalog``).

- :mod:`.generic_message`: ``EnsLib.HTTP.GenericMessage``, an HTTP request or response as a message;
- :mod:`.http_outbound`: ``EnsLib.HTTP.OutboundAdapter``, an httpx client per adapter;
- :mod:`.http_listener`: the HTTP server an inbound adapter runs on its own threads;
- :mod:`.http_inbound`: ``EnsLib.HTTP.InboundAdapter``, the listener handing requests to its service;
- :mod:`.http_replies`: a service's returned message turned into an HTTP response;
- :mod:`.http_passthrough`: ``EnsLib.HTTP.GenericService`` / ``GenericOperation`` and the REST ones.
"""
