"""theta_rpc -- local JSON-RPC 2.0 servers for the three Theta RPC
surfaces of reference section 5.2 (EdgeCloud client, chain node,
thetacli daemon).  See README.md in this folder."""
