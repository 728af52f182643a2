"""FTP, FTPS and SFTP connectors (IRIS's EnsLib.FTP classes); one adapter pair does all three
protocols, chosen by the Protocol setting.

* ``remote_files``: the remote file system interface the adapters call;
* ``ftp_client`` / ``sftp_client``: its FTP/FTPS (ftplib) and SFTP (paramiko) implementations;
* ``common``: the shared settings (EnsLib.FTP.Common) and the adapter's connection;
* ``inbound_adapter``, ``outbound_adapter``: EnsLib.FTP.InboundAdapter and
  EnsLib.FTP.OutboundAdapter;
* ``passthrough``: EnsLib.FTP.PassthroughService and EnsLib.FTP.PassthroughOperation.
"""
